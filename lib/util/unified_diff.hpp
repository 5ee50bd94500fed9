#pragma once
// The unified diff of two texts, as `diff -u` prints it: `---`/`+++` headers, `@@` hunks with
// 3 lines of context, a line that ends the text without a newline marked
// "\ No newline at end of file". Lines are matched by Myers' O(ND) algorithm.
#include <string>
#include <string_view>
#include <vector>

namespace drctl {

// One line of an edit script: kept (' '), removed ('-') or added ('+').
struct DiffLine {
  char op = ' ';
  std::string text;     // without its newline
  bool newline = true;  // false for a last line that has none
};

// The shortest edit script turning `before` into `after`, line by line (Myers). Past
// `max_edits` differences it gives up matching and replaces the rest wholesale (still a
// correct script, not the shortest), so a huge unrelated file costs O(N) memory, not O(N*D).
std::vector<DiffLine> diff_lines(std::string_view before, std::string_view after,
                                 std::size_t max_edits = 4000);

// The unified diff with `context` lines around each change; "" when the texts are equal.
std::string unified_diff(std::string_view before, std::string_view after,
                         std::string_view before_label, std::string_view after_label,
                         int context = 3);

}  // namespace drctl
