#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace weft::controlplane::testing {

// A fresh directory under /tmp, removed with everything in it when the test ends, failed or
// not.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "weft_source_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    // A test may have taken permissions away; give them back so everything can be removed.
    for (auto it = std::filesystem::recursive_directory_iterator(
             path_, std::filesystem::directory_options::skip_permission_denied, ignored);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ignored)) {
      if (it->is_directory(ignored) && !it->is_symlink(ignored)) {
        ::chmod(it->path().c_str(), 0700);
      }
    }
    std::filesystem::remove_all(path_, ignored);
  }

  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }

  // Writes `text` to `name` in place (open, truncate, write, close), creating directories.
  void write(std::string_view name, std::string_view text) const {
    const std::filesystem::path file = *this / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
  }

  // Writes `text` to a hidden temporary file and renames it over `name`, as editors and
  // `kubectl cp`-style tools replace files atomically.
  void replace(std::string_view name, std::string_view text) const {
    const std::filesystem::path file = *this / name;
    const std::filesystem::path temporary =
        file.parent_path() / ("." + file.filename().string() + ".tmp");
    {
      std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
      out << text;
    }
    std::filesystem::rename(temporary, file);
  }

  void remove(std::string_view name) const { std::filesystem::remove_all(*this / name); }

 private:
  std::string path_;
};

}  // namespace weft::controlplane::testing
