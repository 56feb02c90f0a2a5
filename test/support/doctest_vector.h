// Shows both lists when a doctest comparison of vectors fails: each item
// through its own StringMaker (operator<< where the type has one).
#pragma once

#include <doctest/doctest.h>

#include <vector>

template <typename T>
struct doctest::StringMaker<std::vector<T>> {
  static doctest::String convert(const std::vector<T>& items) {
    doctest::String text = "{";
    for (const auto& item : items) text += doctest::toString(item) + " ";
    return text + "}";
  }
};
