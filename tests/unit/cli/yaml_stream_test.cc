// The cutting of a YAML stream into pieces that put together are the text byte for byte, each
// document with the tree yaml-cpp read from it; and syntax errors with their line and column.
#include "cli/yaml_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace weft::cli {
namespace {

std::vector<std::string> pieceTexts(std::string_view text, const YamlStream& stream) {
  std::vector<std::string> texts;
  for (const YamlPiece& piece : stream.pieces) {
    texts.emplace_back(text.substr(piece.begin, piece.end - piece.begin));
  }
  return texts;
}

std::string joined(std::string_view text, const YamlStream& stream) {
  std::string all;
  for (const std::string& piece : pieceTexts(text, stream)) {
    all += piece;
  }
  return all;
}

TEST(YamlStreamTest, PiecesAreTheTextWithCommentsBeforeADocumentInItsPiece) {
  const std::string text =
      "# header\n%YAML 1.1\n---\na: 1\n# after a\n---\n# before b\nb: 2\n...\n# tail\n";
  const YamlStream stream = readYamlStream(text);
  ASSERT_TRUE(stream.ok) << stream.error.message;
  EXPECT_EQ(pieceTexts(text, stream),
            (std::vector<std::string>{"# header\n%YAML 1.1\n---\na: 1\n# after a\n",
                                      "---\n# before b\nb: 2\n...\n", "# tail\n"}));
  EXPECT_EQ(joined(text, stream), text);
  ASSERT_TRUE(stream.pieces[0].is_document);
  EXPECT_EQ(stream.pieces[0].root["a"].as<int>(), 1);
  EXPECT_EQ(stream.pieces[1].first_line, 5u);
  EXPECT_EQ(stream.pieces[1].root["b"].as<int>(), 2);
  EXPECT_FALSE(stream.pieces[2].is_document);
}

TEST(YamlStreamTest, AnIndentedMarkerInABlockScalarIsText) {
  const std::string text =
      "kind: ConfigMap\ndata:\n  pipeline.yaml: |\n    a: 1\n    ---\n    b: 2\n---\nkind: "
      "Service\n";
  const YamlStream stream = readYamlStream(text);
  ASSERT_TRUE(stream.ok) << stream.error.message;
  ASSERT_EQ(stream.pieces.size(), 2u);
  EXPECT_EQ(stream.pieces[0].root["data"]["pipeline.yaml"].as<std::string>(), "a: 1\n---\nb: 2\n");
  EXPECT_EQ(stream.pieces[1].root["kind"].as<std::string>(), "Service");
}

TEST(YamlStreamTest, OnlyAMarkerAloneOrFollowedByABlankStartsADocument) {
  const std::string text = "a: |\n  x\n---x: 1\n";  // "---x" is no marker (and no content)
  const YamlStream stream = readYamlStream(text);
  ASSERT_TRUE(stream.ok) << stream.error.message;
  EXPECT_EQ(stream.pieces.size(), 1u);

  const std::string tabbed = "a: 1\n---\t{b: 2}\n--- {c: 3}\n";
  const YamlStream documents = readYamlStream(tabbed);
  ASSERT_TRUE(documents.ok) << documents.error.message;
  ASSERT_EQ(documents.pieces.size(), 3u);
  EXPECT_EQ(documents.pieces[1].root["b"].as<int>(), 2);
  EXPECT_EQ(documents.pieces[2].root["c"].as<int>(), 3);
}

TEST(YamlStreamTest, EmptyDocumentsAreNullDocuments) {
  const std::string text = "---\n---\n# nothing\n---\na: 1\n";
  const YamlStream stream = readYamlStream(text);
  ASSERT_TRUE(stream.ok) << stream.error.message;
  ASSERT_EQ(stream.pieces.size(), 3u);
  EXPECT_TRUE(stream.pieces[0].is_document);
  EXPECT_TRUE(stream.pieces[0].root.IsNull());
  EXPECT_TRUE(stream.pieces[1].root.IsNull());
  EXPECT_EQ(stream.pieces[2].root["a"].as<int>(), 1);
  EXPECT_EQ(joined(text, stream), text);
}

TEST(YamlStreamTest, CommentsAloneAreNoDocument) {
  for (const std::string text : {"", "# only a comment\n", "\n\n"}) {
    const YamlStream stream = readYamlStream(text);
    ASSERT_TRUE(stream.ok) << stream.error.message;
    for (const YamlPiece& piece : stream.pieces) {
      EXPECT_FALSE(piece.is_document) << text;
    }
    EXPECT_EQ(joined(text, stream), text);
  }
}

TEST(YamlStreamTest, CarriageReturnsAndAMissingLastLineBreakAreKept) {
  const std::string text = "a: 1\r\n---\r\nb: 2";
  const YamlStream stream = readYamlStream(text);
  ASSERT_TRUE(stream.ok) << stream.error.message;
  ASSERT_EQ(stream.pieces.size(), 2u);
  EXPECT_EQ(pieceTexts(text, stream)[1], "---\r\nb: 2");
  EXPECT_EQ(stream.pieces[1].root["b"].as<int>(), 2);
}

TEST(YamlStreamTest, ASyntaxErrorSaysWhere) {
  const YamlStream stream = readYamlStream("a: 1\n---\nb: [1, 2\nc: 3\n");
  ASSERT_FALSE(stream.ok);
  EXPECT_EQ(stream.error.line, 4u);
  EXPECT_EQ(stream.error.column, 2u);
  EXPECT_NE(stream.error.message.find("flow"), std::string::npos) << stream.error.message;
}

// yaml-cpp reads "c: 2" as a second document without a marker; Kubernetes refuses the text.
TEST(YamlStreamTest, ADedentedLineIsAnErrorNotASecondDocument) {
  const YamlStream stream = readYamlStream("a: 1\n---\n  b: 1\n c: 2\n");
  ASSERT_FALSE(stream.ok);
  EXPECT_EQ(stream.error.line, 4u);
  EXPECT_EQ(stream.error.column, 2u);
  EXPECT_NE(stream.error.message.find("indentation"), std::string::npos) << stream.error.message;
}

}  // namespace
}  // namespace weft::cli
