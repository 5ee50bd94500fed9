#include "util/unified_diff.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace drctl {
namespace {

struct Line {
  std::string_view text;
  bool newline = true;
  bool operator==(const Line& other) const {
    return text == other.text && newline == other.newline;
  }
};

std::vector<Line> split_lines(std::string_view text) {
  std::vector<Line> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      lines.push_back({text.substr(start), false});
      break;
    }
    lines.push_back({text.substr(start, end - start), true});
    start = end + 1;
  }
  return lines;
}

// Myers' greedy forward search over a[a0, a1) and b[b0, b1), keeping each round's furthest
// reaching x per diagonal so the path can be walked back. Appends the script in order; false
// when more than max_edits differences would be needed (nothing appended then).
bool myers(const std::vector<Line>& a, std::size_t a0, std::size_t a1, const std::vector<Line>& b,
           std::size_t b0, std::size_t b1, std::size_t max_edits, std::vector<DiffLine>& out) {
  const long n = static_cast<long>(a1 - a0), m = static_cast<long>(b1 - b0);
  const long max = std::min<long>(n + m, static_cast<long>(max_edits));
  std::vector<long> v(static_cast<std::size_t>(2 * max + 3), 0);
  const long offset = max + 1;
  std::vector<std::vector<long>> trace;  // trace[d][k + d]: furthest x on diagonal k after d
  long found = -1;
  for (long d = 0; d <= max && found < 0; ++d) {
    for (long k = -d; k <= d; k += 2) {
      long x = (k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1]))
                   ? v[offset + k + 1]
                   : v[offset + k - 1] + 1;
      long y = x - k;
      while (x < n && y < m && a[a0 + x] == b[b0 + y]) ++x, ++y;
      v[offset + k] = x;
      if (x >= n && y >= m) found = d;
    }
    trace.emplace_back(v.begin() + offset - d, v.begin() + offset + d + 1);
  }
  if (found < 0) return false;
  std::vector<DiffLine> reversed;
  long x = n, y = m;
  auto keep = [&](long xi) {
    const Line& line = a[a0 + xi];
    reversed.push_back({' ', std::string(line.text), line.newline});
  };
  for (long d = found; d > 0; --d) {
    const auto& prev = trace[static_cast<std::size_t>(d - 1)];
    auto at = [&](long k) { return prev[static_cast<std::size_t>(k + d - 1)]; };
    long k = x - y;
    long prev_k = (k == -d || (k != d && at(k - 1) < at(k + 1))) ? k + 1 : k - 1;
    long prev_x = at(prev_k), prev_y = prev_x - prev_k;
    while (x > prev_x && y > prev_y) keep(--x), --y;
    if (x == prev_x) {
      const Line& line = b[b0 + y - 1];
      reversed.push_back({'+', std::string(line.text), line.newline});
    } else {
      const Line& line = a[a0 + x - 1];
      reversed.push_back({'-', std::string(line.text), line.newline});
    }
    x = prev_x, y = prev_y;
  }
  while (x > 0 && y > 0) keep(--x), --y;
  out.insert(out.end(), reversed.rbegin(), reversed.rend());
  return true;
}

std::string range(std::size_t start, std::size_t count) {
  if (count == 1) return fmt::format("{}", start);
  return fmt::format("{},{}", start, count);
}

}  // namespace

std::vector<DiffLine> diff_lines(std::string_view before, std::string_view after,
                                 std::size_t max_edits, bool* gave_up) {
  if (gave_up) *gave_up = false;
  const auto a = split_lines(before), b = split_lines(after);
  // The common head and tail cost nothing to match: only the middle is searched.
  std::size_t head = 0;
  while (head < a.size() && head < b.size() && a[head] == b[head]) ++head;
  std::size_t tail = 0;
  while (tail < a.size() - head && tail < b.size() - head &&
         a[a.size() - 1 - tail] == b[b.size() - 1 - tail])
    ++tail;
  std::vector<DiffLine> out;
  for (std::size_t i = 0; i < head; ++i) out.push_back({' ', std::string(a[i].text), a[i].newline});
  const std::size_t a_end = a.size() - tail, b_end = b.size() - tail;
  if (!myers(a, head, a_end, b, head, b_end, max_edits, out)) {
    if (gave_up) *gave_up = true;
    for (std::size_t i = head; i < a_end; ++i)
      out.push_back({'-', std::string(a[i].text), a[i].newline});
    for (std::size_t i = head; i < b_end; ++i)
      out.push_back({'+', std::string(b[i].text), b[i].newline});
  }
  for (std::size_t i = a_end; i < a.size(); ++i)
    out.push_back({' ', std::string(a[i].text), a[i].newline});
  return out;
}

std::string unified_diff(std::string_view before, std::string_view after,
                         std::string_view before_label, std::string_view after_label, int context,
                         const DiffLimits& limits) {
  if (before == after) return "";
  bool gave_up = false;
  const auto lines = diff_lines(before, after, limits.max_edits, &gave_up);
  const std::size_t ctx = static_cast<std::size_t>(std::max(0, context));
  // Lines of each text consumed before each script line.
  std::vector<std::size_t> a_at(lines.size() + 1, 0), b_at(lines.size() + 1, 0);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    a_at[i + 1] = a_at[i] + (lines[i].op != '+' ? 1 : 0);
    b_at[i + 1] = b_at[i] + (lines[i].op != '-' ? 1 : 0);
  }
  std::string out = fmt::format("--- {}\n+++ {}\n", before_label, after_label);
  if (gave_up) {
    // Too many differences to match line by line: where they are, no hunks (the script past
    // the bound replaces the whole middle, so its lines are no count of what changed).
    std::size_t first = 0, last = lines.size();
    while (first < lines.size() && lines[first].op == ' ') ++first;
    while (last > first && lines[last - 1].op == ' ') --last;
    out += fmt::format(
        "lines {}-{} now and {}-{} after: more than {} changed lines, not listed line by line\n",
        a_at[first] + 1, a_at[last], b_at[first] + 1, b_at[last], limits.max_edits);
    return out;
  }
  std::size_t listed = 0;  // changed lines printed so far
  std::size_t i = 0;
  while (i < lines.size()) {
    while (i < lines.size() && lines[i].op == ' ') ++i;
    if (i == lines.size()) break;
    // A hunk: from ctx lines before this change to ctx lines after the last change that is
    // within 2*ctx kept lines of the one before it.
    std::size_t start = i >= ctx ? i - ctx : 0;
    std::size_t end = i;
    while (true) {
      while (end < lines.size() && lines[end].op != ' ') ++end;
      std::size_t next = end;
      while (next < lines.size() && lines[next].op == ' ') ++next;
      if (next < lines.size() && next - end <= 2 * ctx) {
        end = next;
        continue;
      }
      end = std::min(lines.size(), end + ctx);
      break;
    }
    const std::size_t a_count = a_at[end] - a_at[start], b_count = b_at[end] - b_at[start];
    out += fmt::format("@@ -{} +{} @@\n", range(a_count ? a_at[start] + 1 : a_at[start], a_count),
                       range(b_count ? b_at[start] + 1 : b_at[start], b_count));
    for (std::size_t j = start; j < end; ++j) {
      if (lines[j].op != ' ' && listed++ == limits.max_lines) {
        std::size_t more = 0;
        for (std::size_t k = j; k < lines.size(); ++k) more += lines[k].op != ' ' ? 1 : 0;
        out += fmt::format("... {} more changed lines\n", more);
        return out;
      }
      out += lines[j].op;
      out += lines[j].text;
      out += '\n';
      if (!lines[j].newline) out += "\\ No newline at end of file\n";
    }
    i = end;
  }
  return out;
}

}  // namespace drctl
