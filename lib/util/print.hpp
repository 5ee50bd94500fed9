#pragma once
// Printing to the terminal or a report stream that never throws. fmt::print throws when a
// write fails (a full disk behind `> report.json`), which in a reporter would stop a switchover
// halfway; here the stream's error flag is left set instead, and drctl exits 74 at the end
// when the output it was asked for was not written (cli/main.cpp).
#include <fmt/format.h>

#include <cstdio>
#include <string_view>
#include <utility>

namespace drctl {

inline void print_to(std::FILE* out, std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), out);
}

template <typename... Args>
void print_to(std::FILE* out, fmt::format_string<Args...> format, Args&&... args) {
  print_to(out, std::string_view(fmt::format(format, std::forward<Args>(args)...)));
}

}  // namespace drctl
