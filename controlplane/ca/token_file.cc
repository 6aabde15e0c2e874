#include "controlplane/ca/token_file.h"

#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

namespace weft::controlplane::ca {

namespace {

// One CSV record of one line; an error text when the line is not valid CSV.
struct CsvRecord {
  std::vector<std::string> fields;
  std::string error;
};

CsvRecord splitCsvLine(std::string_view line) {
  CsvRecord record;
  size_t i = 0;
  while (true) {
    std::string field;
    if (i < line.size() && line[i] == '"') {
      // Quoted field: "" is a quote, the closing quote must end the field.
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        field.push_back(line[i++]);
      }
      if (!closed) {
        record.error = "unterminated quoted field";
        return record;
      }
      if (i < line.size() && line[i] != ',') {
        record.error = "unexpected text after a quoted field";
        return record;
      }
    } else {
      const size_t end = std::min(line.find(',', i), line.size());
      field.assign(line.substr(i, end - i));
      if (field.find('"') != std::string::npos) {
        record.error = "bare '\"' in an unquoted field";
        return record;
      }
      i = end;
    }
    record.fields.push_back(std::move(field));
    if (i >= line.size()) {
      return record;
    }
    ++i;  // the comma; a comma at the very end starts one more, empty, field
    if (i == line.size()) {
      record.fields.emplace_back();
      return record;
    }
  }
}

}  // namespace

TokenDigest tokenDigest(std::string_view token) {
  TokenDigest digest{};
  unsigned int length = 0;
  // SHA-256 of a memory buffer cannot fail short of a broken OpenSSL; a zero digest then
  // matches no parsed token, which never hash to zero in practice.
  EVP_Digest(token.data(), token.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return digest;
}

TokenFileContents parseTokenFile(std::string_view text) {
  TokenFileContents contents;
  std::map<TokenDigest, size_t> first_line_of;
  std::set<TokenDigest> repeated;
  size_t line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    const size_t newline = text.find('\n', start);
    std::string_view line = text.substr(
        start, newline == std::string_view::npos ? std::string_view::npos : newline - start);
    start = newline == std::string_view::npos ? text.size() : newline + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.empty() || line.front() == '#') {
      continue;
    }
    const std::string where = "line " + std::to_string(line_number) + ": ";
    CsvRecord record = splitCsvLine(line);
    if (!record.error.empty()) {
      contents.problems.push_back(where + record.error);
      continue;
    }
    if (record.fields.size() < 3) {
      contents.problems.push_back(where + "expected at least 3 fields (token,user,uid), found " +
                                  std::to_string(record.fields.size()));
      continue;
    }
    if (record.fields[0].empty()) {
      contents.problems.push_back(where + "empty token");
      continue;
    }
    if (record.fields[1].empty()) {
      contents.problems.push_back(where + "empty user name");
      continue;
    }
    const TokenDigest digest = tokenDigest(record.fields[0]);
    if (auto [it, inserted] = first_line_of.emplace(digest, line_number); !inserted) {
      contents.problems.push_back(where + "token already on line " + std::to_string(it->second) +
                                  "; neither line is used");
      repeated.insert(digest);
      continue;
    }
    contents.tokens.push_back(StaticToken{digest, std::move(record.fields[1]), line_number});
  }
  std::erase_if(contents.tokens,
                [&](const StaticToken& token) { return repeated.count(token.digest) > 0; });
  return contents;
}

}  // namespace weft::controlplane::ca
