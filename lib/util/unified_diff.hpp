#pragma once
// The unified diff of two texts, as `diff -u` prints it: `---`/`+++` headers, `@@` hunks with
// 3 lines of context, a line that ends the text without a newline marked
// "\ No newline at end of file". Lines are matched by Myers' O(ND) algorithm, within bounds:
// past `DiffLimits::max_edits` differences only where they are is said, no hunks, and the
// listing stops after `max_lines` changed lines, so memory and output stay bounded.
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
// correct script, not the shortest; `*gave_up` set), so a huge unrelated file costs O(N)
// memory, not O(N*D) (the search keeps O(max_edits^2)).
std::vector<DiffLine> diff_lines(std::string_view before, std::string_view after,
                                 std::size_t max_edits = 1000, bool* gave_up = nullptr);

// How much of a diff is worked out and printed.
struct DiffLimits {
  std::size_t max_edits = 1000;  // beyond: "lines A-B now and C-D after: more than ..."
  std::size_t max_lines = 400;   // changed lines listed; then "... N more changed lines"
};

// The unified diff with `context` lines around each change; "" when the texts are equal.
std::string unified_diff(std::string_view before, std::string_view after,
                         std::string_view before_label, std::string_view after_label,
                         int context = 3, const DiffLimits& limits = {});

}  // namespace drctl
