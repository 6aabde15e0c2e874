#include "controlplane/crd/text_diff.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace weft::controlplane::crd {
namespace {

std::vector<std::string_view> splitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    if (end == std::string_view::npos) {
      lines.push_back(text);
      break;
    }
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  return lines;
}

struct Edit {
  char op;  // ' ' kept, '-' only in before, '+' only in after
  size_t before_line;
  size_t after_line;
  std::string_view text;
};

// Longest-common-subsequence table, O(n*m): the CRDs are a few thousand lines, and a check
// compares each file once.
std::vector<Edit> diffLines(const std::vector<std::string_view>& a,
                            const std::vector<std::string_view>& b) {
  const size_t n = a.size();
  const size_t m = b.size();
  std::vector<uint32_t> common((n + 1) * (m + 1), 0);
  auto at = [m, &common](size_t i, size_t j) -> uint32_t& { return common[i * (m + 1) + j]; };
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      at(i, j) = a[i] == b[j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
    }
  }
  std::vector<Edit> edits;
  size_t i = 0;
  size_t j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      edits.push_back({' ', i, j, a[i]});
      ++i;
      ++j;
    } else if (i < n && (j == m || at(i + 1, j) >= at(i, j + 1))) {
      // Removals first, as diff -u prints them.
      edits.push_back({'-', i, j, a[i]});
      ++i;
    } else {
      edits.push_back({'+', i, j, b[j]});
      ++j;
    }
  }
  return edits;
}

}  // namespace

std::string unifiedDiff(std::string_view before_name, std::string_view before,
                        std::string_view after_name, std::string_view after, size_t max_lines) {
  if (before == after) {
    return {};
  }
  const auto a = splitLines(before);
  const auto b = splitLines(after);
  // Texts equal line by line can still differ in the final newline.
  if (a == b) {
    return "--- " + std::string(before_name) + "\n+++ " + std::string(after_name) +
           "\n(the files differ only in their final newline)\n";
  }
  constexpr size_t kContext = 2;
  const std::vector<Edit> edits = diffLines(a, b);
  std::string out = "--- " + std::string(before_name) + "\n+++ " + std::string(after_name) + "\n";
  size_t shown = 0;
  size_t hidden = 0;
  size_t k = 0;
  while (k < edits.size()) {
    if (edits[k].op == ' ') {
      ++k;
      continue;
    }
    // A hunk: from kContext lines before this change to kContext lines after the last change
    // that is separated from the next by at most 2 * kContext kept lines.
    const size_t start = k >= kContext ? k - kContext : 0;
    size_t end = k;
    size_t last_change = k;
    while (end < edits.size()) {
      if (edits[end].op != ' ') {
        last_change = end;
      } else if (end - last_change > 2 * kContext) {
        break;
      }
      ++end;
    }
    end = std::min(edits.size(), last_change + kContext + 1);
    size_t before_count = 0;
    size_t after_count = 0;
    for (size_t e = start; e < end; ++e) {
      before_count += edits[e].op != '+' ? 1 : 0;
      after_count += edits[e].op != '-' ? 1 : 0;
    }
    std::string hunk = "@@ -" + std::to_string(edits[start].before_line + 1) + "," +
                       std::to_string(before_count) + " +" +
                       std::to_string(edits[start].after_line + 1) + "," +
                       std::to_string(after_count) + " @@\n";
    bool any_shown = false;
    for (size_t e = start; e < end; ++e) {
      if (edits[e].op != ' ') {
        if (shown >= max_lines) {
          ++hidden;
          continue;
        }
        ++shown;
        any_shown = true;
      }
      hunk += edits[e].op;
      hunk += std::string(edits[e].text) + "\n";
    }
    if (any_shown) {
      out += hunk;
    }
    k = end;
  }
  if (hidden > 0) {
    out += "... and " + std::to_string(hidden) + " more changed lines\n";
  }
  return out;
}

}  // namespace weft::controlplane::crd
