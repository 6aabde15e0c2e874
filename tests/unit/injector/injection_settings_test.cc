// The injector's settings: the ConfigMap's keys, checked one by one, read from a mounted
// directory the way the kubelet lays it out.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "injector/injection_settings.h"
#include "injector/kubernetes_quantity.h"
#include "injector/pod_annotations.h"

namespace weft::injector {
namespace {

namespace fs = std::filesystem;

TEST(KubernetesQuantity, AcceptsTheApiServersGrammar) {
  for (const char* good : {"100m", "64Mi", "1", "1.5", "0.5Gi", "2e3", "1E-2", "+1k", "10n"}) {
    EXPECT_TRUE(isKubernetesQuantity(good)) << good;
  }
  for (const char* bad : {"", "Mi", "64MB", "1.2.3", "ten", "1 Gi", "1e", "1Mi "}) {
    EXPECT_FALSE(isKubernetesQuantity(bad)) << bad;
  }
}

TEST(InjectionSettings, AppliesEachKeyAndRefusesBadValues) {
  InjectionSettings settings;
  std::string error;
  EXPECT_TRUE(applySetting("proxyImage", "mirror.example/weft/proxy@sha256:abc", settings, error));
  EXPECT_EQ(settings.proxy_image, "mirror.example/weft/proxy@sha256:abc");
  EXPECT_TRUE(applySetting("sidecarMode", "classic", settings, error));
  EXPECT_EQ(settings.mode, SidecarMode::kClassic);
  EXPECT_TRUE(applySetting("controlPlaneAddress", "weft-cp.mesh.svc:15010", settings, error));
  EXPECT_EQ(settings.control_plane_host, "weft-cp.mesh.svc");
  EXPECT_EQ(settings.control_plane_port, 15010);
  EXPECT_TRUE(applySetting("proxyMemoryLimit", "", settings, error));
  EXPECT_EQ(settings.proxy_memory_limit, "");

  const struct {
    const char* key;
    const char* value;
    const char* error;
  } bad[] = {
      {"proxyImage", "weft proxy", "proxyImage: 'weft proxy' is not an image reference"},
      {"imagePullPolicy", "Sometimes",
       "imagePullPolicy: 'Sometimes' is not Always, IfNotPresent or Never"},
      {"sidecarMode", "sidecar", "sidecarMode: 'sidecar' is not native or classic"},
      {"controlPlaneAddress", "weft-cp", "controlPlaneAddress: 'weft-cp' is not host:port"},
      {"controlPlaneAddress", "weft-cp:0", "controlPlaneAddress: 'weft-cp:0' is not host:port"},
      {"proxyCpuRequest", "lots",
       "proxyCpuRequest: 'lots' is not a Kubernetes quantity (e.g. 100m, 64Mi)"},
      {"proxyLogLevel", "verbose",
       "proxyLogLevel: 'verbose' is not trace, debug, info, warning, error, critical or off"},
  };
  for (const auto& entry : bad) {
    InjectionSettings unchanged;
    std::string reason;
    EXPECT_FALSE(applySetting(entry.key, entry.value, unchanged, reason)) << entry.key;
    EXPECT_EQ(reason, entry.error);
  }
  std::string reason;
  EXPECT_FALSE(applySetting("proxyimage", "x", settings, reason));
  EXPECT_TRUE(reason.starts_with("unknown key 'proxyimage' (known: proxyImage,")) << reason;
}

class SettingsDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = fs::temp_directory_path() /
                 ("weft-injector-settings-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(directory_);
    // The kubelet's layout: a timestamped directory, "..data" pointing at it, and each key a
    // symlink through "..data".
    fs::create_directories(directory_ / "..2026_11_28_10_00_00.1");
    fs::create_directory_symlink("..2026_11_28_10_00_00.1", directory_ / "..data");
  }
  void TearDown() override { fs::remove_all(directory_); }

  void put(const std::string& key, const std::string& value) {
    std::ofstream(directory_ / "..data" / key) << value;
    fs::create_symlink("..data/" + key, directory_ / key);
  }

  fs::path directory_;
};

TEST_F(SettingsDirectory, ReadsTheKeysOverTheBase) {
  put("proxyImage", "weft-proxy:0.2.0\n");  // a YAML block scalar ends in a newline
  put("sidecarMode", "classic");
  InjectionSettings base;
  base.mesh_root_pem = "root";
  InjectionSettings out;
  std::string error;
  ASSERT_TRUE(loadSettingsDirectory(directory_.string(), base, out, error)) << error;
  EXPECT_EQ(out.proxy_image, "weft-proxy:0.2.0");
  EXPECT_EQ(out.mode, SidecarMode::kClassic);
  EXPECT_EQ(out.mesh_root_pem, "root");
  EXPECT_EQ(out.token_audience, "weft");
}

TEST_F(SettingsDirectory, NamesTheFileOfABadValueAndChangesNothing) {
  put("proxyImage", "weft-proxy:0.2.0");
  put("proxyMemoryLimit", "a lot");
  InjectionSettings out;
  out.proxy_image = "before";
  std::string error;
  EXPECT_FALSE(loadSettingsDirectory(directory_.string(), InjectionSettings{}, out, error));
  EXPECT_EQ(error, directory_.string() +
                       "/proxyMemoryLimit: proxyMemoryLimit: 'a lot' is not a Kubernetes "
                       "quantity (e.g. 100m, 64Mi)");
  EXPECT_EQ(out.proxy_image, "before");
}

TEST_F(SettingsDirectory, AMissingDirectoryIsAnError) {
  InjectionSettings out;
  std::string error;
  EXPECT_FALSE(loadSettingsDirectory((directory_ / "absent").string(), {}, out, error));
  EXPECT_NE(error.find("absent"), std::string::npos) << error;
}

TEST(PodAnnotations, NormalizesListsAndRefusesBadEntries) {
  EXPECT_EQ(normalizePortList(" 80, 443 ,,8080"), "80,443,8080");
  EXPECT_EQ(normalizePortList(""), "");
  EXPECT_EQ(normalizePortList("0"), std::nullopt);
  EXPECT_EQ(normalizePortList("65536"), std::nullopt);
  EXPECT_EQ(normalizePortList("http"), std::nullopt);
  EXPECT_EQ(normalizeCidrList("10.0.0.0/8, fd00::/8,192.168.1.1"),
            "10.0.0.0/8,fd00::/8,192.168.1.1");
  EXPECT_EQ(normalizeCidrList("10.0.0.0/33"), std::nullopt);
  EXPECT_EQ(normalizeCidrList("fd00::/129"), std::nullopt);
  EXPECT_EQ(normalizeCidrList("10.0.0.0/"), std::nullopt);
  EXPECT_EQ(normalizeCidrList("example.com"), std::nullopt);
  EXPECT_EQ(normalizeCidrList("10.0.0.0/8; rm -rf /"), std::nullopt);
}

}  // namespace
}  // namespace weft::injector
