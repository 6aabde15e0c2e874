#pragma once

#include <string>
#include <vector>

namespace weft::cli {

// A plain-text table with a header row, columns padded to their widest cell and separated by
// three spaces, as kubectl prints them.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) : rows_{std::move(header)} {}

  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.size() == 1; }
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace weft::cli
