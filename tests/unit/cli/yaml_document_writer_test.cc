// Writing a changed document back as YAML: what did not change looks as it did (spelling,
// quotes, comments, indentation, order), what is new reads back as the same JSON in
// Kubernetes' YAML 1.1 and in YAML 1.2, and the text around the document is kept verbatim.
#include "cli/yaml_document_writer.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>

#include "cli/yaml_stream.h"
#include "cli/yaml_to_json.h"

namespace weft::cli {
namespace {

namespace json = boost::json;

// The JSON of the only document of `text`.
json::value readBack(const std::string& text) {
  const YamlStream stream = readYamlStream(text);
  EXPECT_TRUE(stream.ok) << stream.error.message << " in:\n" << text;
  for (const YamlPiece& piece : stream.pieces) {
    if (piece.is_document) {
      json::value value;
      std::string error;
      EXPECT_TRUE(yamlToJson(piece.root, value, error)) << error;
      return value;
    }
  }
  ADD_FAILURE() << "no document in:\n" << text;
  return nullptr;
}

// Reads `text` (one document), lets `change` edit its JSON and writes it again.
template <class Change>
RewrittenDocument rewrite(const std::string& text, Change change) {
  const YamlStream stream = readYamlStream(text);
  EXPECT_TRUE(stream.ok) << stream.error.message;
  for (const YamlPiece& piece : stream.pieces) {
    if (piece.is_document) {
      json::value original;
      std::string error;
      EXPECT_TRUE(yamlToJson(piece.root, original, error)) << error;
      json::value changed = original;
      change(changed);
      return rewriteYamlDocument(text, piece, original, changed);
    }
  }
  ADD_FAILURE() << "no document";
  return {};
}

RewrittenDocument unchanged(const std::string& text) {
  return rewrite(text, [](json::value&) {});
}

TEST(YamlDocumentWriterTest, AnUnchangedBlockDocumentIsWrittenByteForByte) {
  const std::string text =
      "# leading comment\n"
      "---\n"
      "apiVersion: apps/v1\n"
      "kind: Deployment\n"
      "metadata:\n"
      "  name: web   # the name\n"
      "  labels:\n"
      "    tier: \"1\"\n"
      "    quote: 'it''s'\n"
      "spec:\n"
      "  replicas: 0x3\n"
      "  # the pods\n"
      "  template:\n"
      "    spec:\n"
      "\n"
      "      containers:\n"
      "      - name: app\n"
      "        args:\n"
      "        - \"--port=8080\"\n"
      "        - on\n"
      "        env:\n"
      "        - name: A\n"
      "          value: \"08\"\n"
      "        - name: EMPTY\n"
      "          value:\n"
      "        - name: TILDE\n"
      "          value: ~\n"
      "        resources: {}\n"
      "        script: |\n"
      "          # not a comment\n"
      "          ---\n"
      "          done\n"
      "      volumes: []\n"
      "# trailing comment\n"
      "...\n";
  const RewrittenDocument result = unchanged(text);
  EXPECT_EQ(result.text, text);
  EXPECT_EQ(result.dropped_comments, 0u);
}

TEST(YamlDocumentWriterTest, NewKeysComeAfterTheOldOnesInTheDocumentsIndentation) {
  const std::string text =
      "spec:\n"
      "    template:\n"
      "        metadata:\n"
      "            labels:\n"
      "                app: web\n"
      "        spec:\n"
      "            containers:\n"
      "                - name: app\n";
  const RewrittenDocument result = rewrite(text, [](json::value& value) {
    json::object& spec = value.at("spec").at("template").at("spec").as_object();
    spec["volumes"] = json::parse(R"([{"name":"data","emptyDir":{}}])");
    value.at("spec").at("template").at("metadata").as_object()["annotations"] =
        json::parse(R"({"weft.dev/injected":"native"})");
  });
  EXPECT_EQ(result.text,
            "spec:\n"
            "    template:\n"
            "        metadata:\n"
            "            labels:\n"
            "                app: web\n"
            "            annotations:\n"
            "                weft.dev/injected: native\n"
            "        spec:\n"
            "            containers:\n"
            "                - name: app\n"
            "            volumes:\n"
            "                - name: data\n"
            "                  emptyDir: {}\n");
}

TEST(YamlDocumentWriterTest, NewTextThatCouldReadAsSomethingElseIsQuoted) {
  const std::vector<std::string> values = {
      "on",           "yes", "Y",         "08",           "1e3",      "1337",        "0x1F",
      "null",         "~",   "",          "true",         "False",    ".inf",        "-1",
      "0.0.0.0:9443", "<<",  "=",         " lead",        "end ",     "a: b",        "#x",
      "a #b",         "- x", "[x]",       "{x}",          "*x",       "&x",          "!x",
      "%x",           "@x",  "`x",        "|x",           ">x",       "'x",          "\"x",
      "?x",           "x:",  "tab\there", "\xE2\x80\xA8", "bell\x07", "back\\slash", "plain text"};
  const RewrittenDocument result = rewrite("kind: Pod\n", [&](json::value& value) {
    json::array list;
    for (const std::string& text : values) {
      list.emplace_back(text);
    }
    value.as_object()["values"] = std::move(list);
    value.as_object()["on"] = "key that reads as a boolean";
    value.as_object()["8080"] = "key that reads as a number";
  });
  const json::value back = readBack(result.text);
  ASSERT_TRUE(back.is_object()) << result.text;
  const json::array& list = back.at("values").as_array();
  ASSERT_EQ(list.size(), values.size()) << result.text;
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(list[i], json::value(values[i])) << "item " << i << " in:\n" << result.text;
  }
  EXPECT_EQ(back.at("on"), json::value("key that reads as a boolean"));
  EXPECT_EQ(back.at("8080"), json::value("key that reads as a number"));
  EXPECT_NE(result.text.find("\n- plain text\n"), std::string::npos) << result.text;
  EXPECT_NE(result.text.find("\n- \"on\"\n"), std::string::npos) << result.text;
}

TEST(YamlDocumentWriterTest, TextOfSeveralLinesIsALiteralBlockWhenThatKeepsIt) {
  const std::vector<std::string> values = {"a\nb\n",     "a\n  b",     "a\n\nb\n", "a\nb\n\n",
                                           " lead\nx\n", "a\n  \nb\n", "a\r\nb\n"};
  const RewrittenDocument result = rewrite("kind: Pod\n", [&](json::value& value) {
    json::array list;
    for (const std::string& text : values) {
      list.emplace_back(text);
    }
    value.as_object()["values"] = std::move(list);
    value.as_object()["script"] = "echo one\n  echo two\n";
  });
  const json::value back = readBack(result.text);
  const json::array& list = back.at("values").as_array();
  ASSERT_EQ(list.size(), values.size()) << result.text;
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(list[i], json::value(values[i])) << "item " << i << " in:\n" << result.text;
  }
  EXPECT_EQ(back.at("script"), json::value("echo one\n  echo two\n"));
  EXPECT_NE(result.text.find("script: |\n  echo one\n    echo two\n"), std::string::npos)
      << result.text;
  EXPECT_NE(result.text.find("- |-\n  a\n    b\n"), std::string::npos) << result.text;
}

TEST(YamlDocumentWriterTest, NumbersKeepTheirSpellingAndNewOnesStayTheirType) {
  const RewrittenDocument result =
      rewrite("cpu: 0.5\nlimit: 0x10\nmode: 0755\n", [](json::value& value) {
        value.as_object()["ratio"] = 0.25;
        value.as_object()["whole"] = 2.0;
        value.as_object()["count"] = 3;
        value.as_object()["flag"] = false;
        value.as_object()["none"] = nullptr;
      });
  EXPECT_EQ(result.text,
            "cpu: 0.5\nlimit: 0x10\nmode: 0755\nratio: 0.25\nwhole: 2.0\ncount: 3\nflag: "
            "false\nnone: null\n");
  EXPECT_EQ(readBack(result.text),
            json::parse(R"({"cpu":0.5,"limit":16,"mode":493,"ratio":0.25,"whole":2.0,)"
                        R"("count":3,"flag":false,"none":null})"));
}

TEST(YamlDocumentWriterTest, ItemsKeepTheirCommentsWhenOthersAreInsertedBeforeThem) {
  const std::string text =
      "containers:\n"
      "# the application\n"
      "- name: app   # serves :8080\n"
      "  image: web\n"
      "# a helper\n"
      "- name: helper\n"
      "  image: helper\n";
  const RewrittenDocument result = rewrite(text, [](json::value& value) {
    json::array& containers = value.at("containers").as_array();
    containers.insert(containers.begin(), json::parse(R"({"name":"weft-proxy","image":"p"})"));
    // A changed item is still recognised by its name.
    containers[2].as_object()["image"] = "helper:2";
  });
  EXPECT_EQ(result.text,
            "containers:\n"
            "- name: weft-proxy\n"
            "  image: p\n"
            "# the application\n"
            "- name: app   # serves :8080\n"
            "  image: web\n"
            "# a helper\n"
            "- name: helper\n"
            "  image: helper:2\n");
  EXPECT_EQ(result.dropped_comments, 0u);
}

TEST(YamlDocumentWriterTest, UnchangedFlowCollectionsStayChangedOnesBecomeBlocks) {
  const RewrittenDocument result =
      rewrite("selector: {app: web}  # who\nports: [80, 443]  # both\nargs: ['a', \"b, c\", [d]]\n",
              [](json::value& value) {
                value.at("selector").as_object()["tier"] = "1";
                value.as_object()["added"] = true;
              });
  EXPECT_EQ(result.text,
            "selector:  # who\n  app: web\n  tier: \"1\"\nports: [80, 443]  # both\n"
            "args: ['a', \"b, c\", [d]]\nadded: true\n");
  // An alias inside would point at an anchor that may not be written: such a list is
  // written out.
  const RewrittenDocument aliased =
      rewrite("a: &x 1\nb: [*x, 2]\n", [](json::value& value) { value.as_object()["c"] = 3; });
  EXPECT_EQ(aliased.text, "a: 1\nb:\n- 1\n- 2\nc: 3\n");
}

TEST(YamlDocumentWriterTest, AMapReplacedAsAWholeKeepsTheSourcesKeyOrder) {
  const RewrittenDocument result = rewrite(
      "probe:\n  httpGet:\n    path: /ready\n    port: http\n  periodSeconds: 10  # often\n",
      [](json::value& value) {
        value.as_object()["probe"] =
            json::parse(R"({"periodSeconds":10,"timeoutSeconds":1,)"
                        R"("httpGet":{"scheme":"HTTP","port":15020,"path":"/app-health/a"}})");
      });
  EXPECT_EQ(result.text,
            "probe:\n  httpGet:\n    path: /app-health/a\n    port: 15020\n    scheme: HTTP\n"
            "  periodSeconds: 10  # often\n  timeoutSeconds: 1\n");
}

TEST(YamlDocumentWriterTest, CommentsOfARemovedValueAreCounted) {
  const RewrittenDocument result =
      rewrite("a: 1\n# about b\nb: 2  # two\nc: 3\n",
              [](json::value& value) { value.as_object().erase("b"); });
  EXPECT_EQ(result.text, "a: 1\nc: 3\n");
  EXPECT_EQ(result.dropped_comments, 2u);
}

TEST(YamlDocumentWriterTest, TheTextAroundTheDocumentIsKept) {
  // A document that starts on its marker's line gets the marker on a line of its own.
  const RewrittenDocument flow =
      rewrite("# head\n--- {kind: Pod}\n# tail\n...\n# after\n",
              [](json::value& value) { value.as_object()["spec"] = json::object(); });
  EXPECT_EQ(flow.text, "# head\n---\nkind: Pod\nspec: {}\n# tail\n...\n");

  const RewrittenDocument crlf =
      rewrite("---\r\na: 1\r\n", [](json::value& value) { value.as_object()["b"] = 2; });
  EXPECT_EQ(crlf.text, "---\r\na: 1\r\nb: 2\r\n");

  const RewrittenDocument unterminated =
      rewrite("a: 1", [](json::value& value) { value.as_object()["b"] = 2; });
  EXPECT_EQ(unterminated.text, "a: 1\nb: 2");
}

TEST(YamlDocumentWriterTest, OneLineQuotedTextIsCopiedWithItsEscapes) {
  const std::string text = "a: \"tab\\there\"\nb: 'single ''quoted'''\nc: \"\\u00e9\"\n";
  EXPECT_EQ(unchanged(text).text, text);
  // Folded or several-line scalars are written anew, with the same value.
  const std::string folded = "a: >\n  one\n  two\nb: \"one\n  two\"\nc: plain\n  folded\n";
  const RewrittenDocument result = unchanged(folded);
  EXPECT_EQ(readBack(result.text), readBack(folded)) << result.text;
}

}  // namespace
}  // namespace weft::cli
