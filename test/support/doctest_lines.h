// Shows both lists, one line each, when a comparison of line lists (e.g.
// diagnostics) fails.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

template <>
struct doctest::StringMaker<std::vector<std::string>> {
  static doctest::String convert(const std::vector<std::string>& lines) {
    std::string text = "{";
    for (const auto& line : lines) text += "\n  \"" + line + "\"";
    return (text + "\n}").c_str();
  }
};
