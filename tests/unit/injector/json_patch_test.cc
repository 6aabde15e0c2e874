// JSON Patch (RFC 6902) and JSON Pointer (RFC 6901), with the RFCs' own examples where they
// exist.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "injector/json_patch.h"

namespace weft::injector {
namespace {

namespace json = boost::json;

// Applies `patch` to `document` and returns the result, or "error: ..." when it fails.
std::string patched(std::string_view document, std::string_view patch) {
  json::value value = json::parse(document);
  std::string error;
  if (!applyJsonPatch(value, json::parse(patch).as_array(), error)) {
    return "error: " + error;
  }
  return json::serialize(value);
}

TEST(JsonPointer, EscapesTildeAndSlash) {
  EXPECT_EQ(escapePointerToken("prometheus.io/port"), "prometheus.io~1port");
  EXPECT_EQ(escapePointerToken("a~b/c"), "a~0b~1c");
  EXPECT_EQ(escapePointerToken("plain"), "plain");
}

TEST(JsonPatch, AddsObjectMembersAndArrayElements) {
  EXPECT_EQ(patched(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux"}])"),
            R"({"foo":"bar","baz":"qux"})");
  EXPECT_EQ(patched(R"({"foo":["bar","baz"]})", R"([{"op":"add","path":"/foo/1","value":"qux"}])"),
            R"({"foo":["bar","qux","baz"]})");
  EXPECT_EQ(patched(R"({"foo":["bar"]})", R"([{"op":"add","path":"/foo/-","value":["abc"]}])"),
            R"({"foo":["bar",["abc"]]})");
  EXPECT_EQ(patched(R"({"a":{"b/c":1}})", R"([{"op":"add","path":"/a/b~1c","value":2}])"),
            R"({"a":{"b/c":2}})");
}

TEST(JsonPatch, RemovesReplacesMovesCopiesAndTests) {
  EXPECT_EQ(patched(R"({"baz":"qux","foo":"bar"})", R"([{"op":"remove","path":"/baz"}])"),
            R"({"foo":"bar"})");
  EXPECT_EQ(patched(R"({"foo":["bar","qux","baz"]})", R"([{"op":"remove","path":"/foo/1"}])"),
            R"({"foo":["bar","baz"]})");
  EXPECT_EQ(patched(R"({"baz":"qux"})", R"([{"op":"replace","path":"/baz","value":"boo"}])"),
            R"({"baz":"boo"})");
  EXPECT_EQ(patched(R"({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}})",
                    R"([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])"),
            R"({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})");
  EXPECT_EQ(patched(R"({"a":[1]})", R"([{"op":"copy","from":"/a","path":"/b"}])"),
            R"({"a":[1],"b":[1]})");
  EXPECT_EQ(patched(R"({"baz":"qux"})", R"([{"op":"test","path":"/baz","value":"qux"}])"),
            R"({"baz":"qux"})");
}

TEST(JsonPatch, RefusesWhatCannotApplyNamingTheOperation) {
  EXPECT_EQ(patched(R"({"baz":"qux"})", R"([{"op":"test","path":"/baz","value":"bar"}])"),
            "error: patch operation 0 (/baz): test failed: the value differs");
  EXPECT_EQ(patched(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz/bat","value":"qux"}])"),
            "error: patch operation 0 (/baz/bat): the parent does not exist");
  EXPECT_EQ(patched(R"({"a":[1]})", R"([{"op":"add","path":"/a/2","value":3}])"),
            "error: patch operation 0 (/a/2): array index out of range");
  EXPECT_EQ(patched(R"({"a":[1]})", R"([{"op":"add","path":"/a/01","value":3}])"),
            "error: patch operation 0 (/a/01): array index out of range");
  EXPECT_EQ(patched(R"({"a":1})", R"([{"op":"remove","path":"/b"}])"),
            "error: patch operation 0 (/b): no such value");
  EXPECT_EQ(patched(R"({"a":1})", R"([{"op":"replace","path":"/b","value":2}])"),
            "error: patch operation 0 (/b): no such value");
  EXPECT_EQ(patched(R"({"a":1})", R"([{"op":"add","path":"a","value":2}])"),
            "error: patch operation 0 (a): \"path\" is not a JSON Pointer");
  EXPECT_EQ(patched(R"({"a":1})", R"([{"op":"add","path":"/a~2","value":2}])"),
            "error: patch operation 0 (/a~2): \"path\" is not a JSON Pointer");
  EXPECT_EQ(patched(R"({"a":1})", R"([{"op":"frobnicate","path":"/a"}])"),
            "error: patch operation 0 (/a): unknown \"op\" 'frobnicate'");
  EXPECT_EQ(patched(R"({"a":{"b":1}})", R"([{"op":"move","from":"/a","path":"/a/b/c"}])"),
            "error: patch operation 0 (/a/b/c): cannot move a value into one of its children");
  EXPECT_EQ(patched(R"({"a":1})", R"([{"op":"add","path":"/b"}])"),
            "error: patch operation 0 (/b): no \"value\"");
  EXPECT_EQ(patched(R"({"a":1})", R"([{"op":"add","path":"/b","value":1},"x"])"),
            "error: patch operation 1 (): not an object");
}

TEST(JsonPatch, AddAtTheRootReplacesTheDocument) {
  EXPECT_EQ(patched(R"({"a":1})", R"([{"op":"add","path":"","value":[1]}])"), "[1]");
}

}  // namespace
}  // namespace weft::injector
