#include "controlplane/source/mesh_model_builder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace weft::controlplane {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string route(std::string_view name, std::string_view timeout = "1s") {
  return "apiVersion: weft.dev/v1alpha1\nkind: TrafficRoute\nmetadata: {name: " +
         std::string(name) + ", namespace: shop}\nspec:\n  hosts: [reviews]\n  rules: [{timeout: " +
         std::string(timeout) + "}]\n";
}

std::string service(std::string_view name) {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: " + std::string(name) +
         ", namespace: shop}\nspec: {selector: {app: " + std::string(name) +
         "}, ports: [{name: http, port: 9080}]}\n";
}

// Files as (name, text) pairs, read as the directory source reads them.
std::vector<ManifestFile> files(std::vector<std::pair<std::string, std::string>> contents) {
  std::vector<ManifestFile> out;
  for (const auto& [name, text] : contents) {
    out.push_back(readManifests(text, name));
  }
  return out;
}

std::vector<std::string> keys(const auto& map) {
  std::vector<std::string> out;
  for (const auto& [key, value] : map) {
    out.push_back(key);
  }
  return out;
}

TEST(MeshModelBuilderTest, BuildsTheModelOfAllFiles) {
  MeshModelBuilder builder;
  EXPECT_TRUE(builder.current()->traffic_routes.empty());
  const ModelBuild build = builder.build(files({
      {"routes.yaml", route("reviews") + "---\n" + route("ratings")},
      {"services.yaml", service("reviews") + "---\napiVersion: apps/v1\nkind: Deployment\n"
                                             "metadata: {name: reviews}\n"},
      {"mesh.yaml",
       "apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: {name: default, namespace: "
       "weft-system}\nspec: {trustDomain: example.org}\n"},
  }));
  EXPECT_TRUE(build.changed);
  EXPECT_THAT(build.errors, IsEmpty());
  EXPECT_THAT(keys(build.model->traffic_routes), ElementsAre("shop/ratings", "shop/reviews"));
  EXPECT_THAT(keys(build.model->services), ElementsAre("shop/reviews"));
  ASSERT_NE(build.model->mesh_config, nullptr);
  EXPECT_EQ(build.model->mesh_config->spec.trust_domain(), "example.org");
  EXPECT_EQ(build.model->traffic_routes.at("shop/ratings")->meta.origin, "routes.yaml#1");
  EXPECT_EQ(builder.current(), build.model);
  EXPECT_EQ(build.documents.at("TrafficRoute"), (DocumentCounts{2, 0, 0}));
  EXPECT_EQ(build.documents.at("Service"), (DocumentCounts{1, 0, 0}));
  EXPECT_EQ(build.documents.at("MeshConfig"), (DocumentCounts{1, 0, 0}));
  EXPECT_EQ(build.documents.at("other"), (DocumentCounts{0, 0, 1}));  // the Deployment
}

TEST(MeshModelBuilderTest, DuplicateObjectInTwoFilesIsAnErrorOnTheLaterOne) {
  MeshModelBuilder builder;
  // Given out of order: files are taken sorted by name.
  const ModelBuild build = builder.build(files({
      {"b.yaml", "# the copy\n" + route("reviews", "2s")},
      {"a.yaml", route("reviews", "1s")},
  }));
  ASSERT_EQ(build.errors.size(), 1u);
  const ManifestError& error = build.errors[0];
  EXPECT_EQ(error.file, "b.yaml");
  EXPECT_EQ(error.document, 0u);
  EXPECT_EQ(error.kind, "TrafficRoute");
  EXPECT_EQ(error.namespace_, "shop");
  EXPECT_EQ(error.name, "reviews");
  EXPECT_EQ(error.field_path, "metadata.name");
  EXPECT_EQ(error.line, 2);
  EXPECT_THAT(error.reason, HasSubstr("TrafficRoute shop/reviews is defined twice: here and "
                                      "first at a.yaml#0 (line 1)"));
  EXPECT_THAT(error.toString(), HasSubstr("b.yaml:2: document #0 (TrafficRoute shop/reviews): "
                                          "metadata.name:"));
  EXPECT_EQ(build.model->traffic_routes.at("shop/reviews")->spec.rules(0).timeout().seconds(), 1);
  EXPECT_EQ(build.documents.at("TrafficRoute"), (DocumentCounts{1, 1, 0}));
  // The same in one file; a Service of the same name is another object.
  const ModelBuild same_file = builder.build(files({
      {"a.yaml", route("reviews") + "---\n" + service("reviews") + "---\n" + route("reviews")},
  }));
  ASSERT_EQ(same_file.errors.size(), 1u);
  EXPECT_EQ(same_file.errors[0].document, 2u);
  EXPECT_THAT(same_file.errors[0].reason, HasSubstr("first at a.yaml#0"));
  EXPECT_EQ(same_file.model->services.size(), 1u);
}

TEST(MeshModelBuilderTest, ABrokenEditKeepsTheLastGoodVersion) {
  MeshModelBuilder builder;
  const ModelBuild good =
      builder.build(files({{"routes.yaml", route("reviews", "1s") + "---\n" + route("ratings")}}));
  ASSERT_TRUE(good.errors.empty());
  // A typo in one route: it keeps its last good version, the other route is read anew.
  const ModelBuild broken = builder.build(
      files({{"routes.yaml", route("reviews", "1 second") + "---\n" + route("ratings", "3s")}}));
  ASSERT_EQ(broken.errors.size(), 1u);
  EXPECT_EQ(broken.errors[0].field_path, "spec.rules[0].timeout");
  EXPECT_THAT(broken.kept, ElementsAre("TrafficRoute shop/reviews (routes.yaml#0)"));
  EXPECT_TRUE(broken.changed);  // ratings changed
  EXPECT_EQ(broken.model->traffic_routes.at("shop/reviews")->spec.rules(0).timeout().seconds(), 1);
  EXPECT_EQ(broken.model->traffic_routes.at("shop/ratings")->spec.rules(0).timeout().seconds(), 3);
  EXPECT_EQ(broken.documents.at("TrafficRoute"), (DocumentCounts{1, 1, 0}));
  // Fixed: the new version replaces it.
  const ModelBuild fixed = builder.build(
      files({{"routes.yaml", route("reviews", "5s") + "---\n" + route("ratings", "3s")}}));
  EXPECT_TRUE(fixed.errors.empty());
  EXPECT_TRUE(fixed.kept.empty());
  EXPECT_EQ(fixed.model->traffic_routes.at("shop/reviews")->spec.rules(0).timeout().seconds(), 5);
}

TEST(MeshModelBuilderTest, AnUnreadableDocumentKeepsEveryObjectOfItsFile) {
  MeshModelBuilder builder;
  builder.build(files({{"routes.yaml", route("reviews") + "---\n" + route("ratings")},
                       {"services.yaml", service("reviews")}}));
  // A syntax error hides which object the document was; nothing of that file is dropped.
  const ModelBuild build =
      builder.build(files({{"routes.yaml", route("reviews") + "---\nkind: [oops\n"},
                           {"services.yaml", service("reviews")}}));
  ASSERT_EQ(build.errors.size(), 1u);
  EXPECT_THAT(build.errors[0].reason, HasSubstr("not valid YAML"));
  EXPECT_THAT(build.kept, ElementsAre("TrafficRoute shop/ratings (routes.yaml#1)"));
  EXPECT_THAT(keys(build.model->traffic_routes), ElementsAre("shop/ratings", "shop/reviews"));
  EXPECT_EQ(build.documents.at("unknown"), (DocumentCounts{0, 1, 0}));
  // The same for a file that cannot be read at all.
  std::vector<ManifestFile> unreadable = files({{"services.yaml", service("reviews")}});
  unreadable.push_back(readManifestFile("/nonexistent/routes.yaml", "routes.yaml"));
  const ModelBuild missing = builder.build(std::move(unreadable));
  EXPECT_EQ(missing.model->traffic_routes.size(), 2u);
  // A directory that cannot be read covers its files.
  builder.build(files({{"sub/routes.yaml", route("reviews")}}));
  ManifestFile directory;
  directory.source = "sub/";
  directory.documents.push_back(readManifestFile("/nonexistent", "sub/").documents.front());
  const ModelBuild covered = builder.build({directory});
  EXPECT_THAT(keys(covered.model->traffic_routes), ElementsAre("shop/reviews"));
}

TEST(MeshModelBuilderTest, ObjectsNoFileDefinesAreRemoved) {
  MeshModelBuilder builder;
  builder.build(files({{"routes.yaml", route("reviews") + "---\n" + route("ratings")},
                       {"services.yaml", service("reviews")}}));
  // A route taken out of its file, and a file deleted.
  const ModelBuild build = builder.build(files({{"routes.yaml", route("reviews")}}));
  EXPECT_TRUE(build.changed);
  EXPECT_TRUE(build.kept.empty());
  EXPECT_THAT(keys(build.model->traffic_routes), ElementsAre("shop/reviews"));
  EXPECT_TRUE(build.model->services.empty());
}

TEST(MeshModelBuilderTest, UnchangedContentGivesNoNewModel) {
  MeshModelBuilder builder;
  const ModelBuild first = builder.build(files({{"a.yaml", route("reviews")}}));
  const ModelBuild again = builder.build(files({{"a.yaml", route("reviews")}}));
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(again.model, first.model);
  // Comments and formatting are not content.
  const ModelBuild reformatted =
      builder.build(files({{"a.yaml", "# reviewed\n" + route("reviews") + "# end\n"}}));
  EXPECT_FALSE(reformatted.changed);
  // A label is.
  const ModelBuild labelled =
      builder.build(files({{"a.yaml",
                            "apiVersion: weft.dev/v1alpha1\nkind: "
                            "TrafficRoute\nmetadata: {name: reviews, "
                            "namespace: shop, labels: {a: b}}\nspec:\n  "
                            "hosts: [reviews]\n  rules: [{timeout: 1s}]\n"}}));
  EXPECT_TRUE(labelled.changed);
  EXPECT_NE(labelled.model, first.model);
  // The first build always gives a model, even an empty one.
  MeshModelBuilder empty;
  EXPECT_TRUE(empty.build({}).changed);
}

TEST(MeshModelBuilderTest, CountsDocumentsByKindAndResult) {
  MeshModelBuilder builder;
  const ModelBuild build =
      builder.build(files({{"a.yaml", route("reviews") + "---\n" + route("Bad") +
                                          "---\napiVersion: v1\nkind: ConfigMap\n"
                                          "metadata: {name: c}\n---\nplain text\n"
                                          "---\napiVersion: weft.dev/v1alpha1\n"
                                          "kind: Nope\nmetadata: {name: n}\n"}}));
  EXPECT_EQ(build.documents.at("TrafficRoute"), (DocumentCounts{1, 1, 0}));
  EXPECT_EQ(build.documents.at("other"), (DocumentCounts{0, 1, 1}));
  EXPECT_EQ(build.documents.at("unknown"), (DocumentCounts{0, 1, 0}));
  EXPECT_EQ(build.errors.size(), 3u);
}

}  // namespace

TEST(MeshModelBuilderTest, AnUpdateChangesOnlyWhatItsFilesDefine) {
  MeshModelBuilder builder;
  const ModelBuild first = builder.build(files({{"a.yaml", route("reviews")},
                                                {"b.yaml", route("ratings")},
                                                {"c.yaml", service("reviews")}}));
  const ModelBuild updated = builder.update(files({{"b.yaml", route("ratings", "4s")}}), {});
  EXPECT_TRUE(updated.changed);
  EXPECT_EQ(updated.model->traffic_routes.at("shop/ratings")->spec.rules(0).timeout().seconds(), 4);
  // Objects of other files are shared with the previous model, not copied.
  EXPECT_EQ(updated.model->traffic_routes.at("shop/reviews"),
            first.model->traffic_routes.at("shop/reviews"));
  EXPECT_EQ(updated.model->services.at("shop/reviews"), first.model->services.at("shop/reviews"));
  // The previous model is untouched.
  EXPECT_EQ(first.model->traffic_routes.at("shop/ratings")->spec.rules(0).timeout().seconds(), 1);
  EXPECT_EQ(updated.documents.at("TrafficRoute"), (DocumentCounts{1, 0, 0}));
  // A file removed takes its objects along.
  const ModelBuild removed = builder.update({}, {"c.yaml"});
  EXPECT_TRUE(removed.changed);
  EXPECT_TRUE(removed.model->services.empty());
  // Rewriting a file with the same objects is no change.
  EXPECT_FALSE(builder.update(files({{"a.yaml", "# same\n" + route("reviews")}}), {}).changed);
}

TEST(MeshModelBuilderTest, AnUpdateDecidesDuplicatesOnTheWholeSet) {
  MeshModelBuilder builder;
  builder.build(files({{"b.yaml", route("reviews", "2s")}}));
  // a.yaml sorts first: its definition wins now, and b.yaml's is the duplicate.
  const ModelBuild added = builder.update(files({{"a.yaml", route("reviews", "1s")}}), {});
  EXPECT_EQ(added.model->traffic_routes.at("shop/reviews")->spec.rules(0).timeout().seconds(), 1);
  ASSERT_EQ(added.errors.size(), 1u);
  EXPECT_EQ(added.errors[0].file, "b.yaml");
  EXPECT_EQ(builder.errorCount(), 1u);
  // Removing the first definition makes the other one count again.
  const ModelBuild removed = builder.update({}, {"a.yaml"});
  EXPECT_EQ(removed.model->traffic_routes.at("shop/reviews")->spec.rules(0).timeout().seconds(), 2);
  EXPECT_TRUE(removed.errors.empty());
  EXPECT_EQ(builder.errorCount(), 0u);
}

TEST(MeshModelBuilderTest, AnUpdateKeepsWhatABrokenFileDefinedUntilItIsFixedOrGone) {
  MeshModelBuilder builder;
  builder.build(files({{"a.yaml", route("reviews") + "---\n" + route("ratings")}}));
  const ModelBuild broken = builder.update(files({{"a.yaml", "kind: [oops\n"}}), {});
  EXPECT_FALSE(broken.changed);
  EXPECT_THAT(broken.kept, ElementsAre("TrafficRoute shop/ratings (a.yaml#1)",
                                       "TrafficRoute shop/reviews (a.yaml#0)"));
  EXPECT_EQ(builder.errorCount(), 1u);
  // Another file changing does not drop them.
  const ModelBuild other = builder.update(files({{"b.yaml", service("reviews")}}), {});
  EXPECT_EQ(other.model->traffic_routes.size(), 2u);
  // Fixed with one route: the other one is gone now.
  const ModelBuild fixed = builder.update(files({{"a.yaml", route("reviews")}}), {});
  EXPECT_THAT(keys(fixed.model->traffic_routes), ElementsAre("shop/reviews"));
  EXPECT_EQ(builder.errorCount(), 0u);
  // Broken, then deleted: nothing is kept.
  builder.update(files({{"a.yaml", "kind: [oops\n"}}), {});
  EXPECT_TRUE(builder.update({}, {"a.yaml"}).model->traffic_routes.empty());
}

// Random edits applied one file at a time give the same model, kept objects and error count
// as building the whole set of files after each edit.
TEST(MeshModelBuilderTest, UpdatesAgreeWithFullBuilds) {
  const std::vector<std::string> contents = {
      route("reviews", "1s"),
      route("reviews", "2s"),
      route("reviews", "1 second"),  // rejected, names its object
      route("ratings") + "---\n" + route("reviews", "3s"),
      route("ratings", "5s") + "---\n" + service("ratings"),
      service("reviews"),
      "kind: [oops\n",  // names nothing
      route("details") + "---\n" + route("details"),
      "",
  };
  const std::vector<std::string> names = {"a.yaml", "b.yaml", "c.yaml", "sub/d.yaml"};
  std::mt19937 random(20261127);
  MeshModelBuilder incremental;
  MeshModelBuilder full;
  std::map<std::string, std::string> directory;
  auto describe = [](const MeshModel& model) {
    std::string out;
    for (const auto& [key, value] : model.traffic_routes) {
      out +=
          "route " + key + " " + value->meta.origin + " " + value->spec.ShortDebugString() + "\n";
    }
    for (const auto& [key, value] : model.services) {
      out += "service " + key + " " + value->meta.origin + "\n";
    }
    return out;
  };
  for (int step = 0; step < 400; ++step) {
    const std::string& name = names[random() % names.size()];
    std::vector<ManifestFile> changed;
    std::vector<std::string> removed;
    if (random() % 4 == 0) {
      directory.erase(name);
      removed.push_back(name);
    } else {
      directory[name] = contents[random() % contents.size()];
      changed.push_back(readManifests(directory[name], name));
    }
    const ModelBuild by_update = incremental.update(std::move(changed), removed);
    std::vector<ManifestFile> all;
    for (const auto& [file, text] : directory) {
      all.push_back(readManifests(text, file));
    }
    const ModelBuild by_build = full.build(std::move(all));
    ASSERT_EQ(describe(*by_update.model), describe(*by_build.model)) << "step " << step;
    ASSERT_EQ(incremental.errorCount(), full.errorCount()) << "step " << step;
    ASSERT_EQ(full.errorCount(), by_build.errors.size()) << "step " << step;
    ASSERT_EQ(by_update.changed, by_build.changed) << "step " << step;
  }
}

}  // namespace weft::controlplane
