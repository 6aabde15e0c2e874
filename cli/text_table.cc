#include "cli/text_table.h"

#include <algorithm>

namespace weft::cli {

std::string TextTable::render() const {
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t c = 0; c < row.size(); ++c) {
      widths[c] = std::max(widths[c], row[c].size());
    }
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) {
        line.append(widths[c] - row[c].size() + 3, ' ');
      }
    }
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace weft::cli
