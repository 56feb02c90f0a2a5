// Unit tests for the small text helpers in src/util/text.h: one test case per
// helper rule.
#include "util/text.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using sr::closest_match;
using sr::edit_distance;
using sr::join;
using sr::split_trimmed;
using sr::trim;

using Strings = std::vector<std::string>;

TEST_CASE("trim removes spaces, tabs, CR, LF, FF and VT from both ends only") {
  CHECK(trim("  a b \t\r\n") == "a b");
  CHECK(trim("\f\vx\v") == "x");
  CHECK(trim("abc") == "abc");
  CHECK(trim("a  b") == "a  b");
  CHECK(trim("") == "");
  CHECK(trim(" \t\r\n ") == "");
  // Other characters, even unprintable ones, are kept.
  CHECK(trim("\x01 x \x01") == "\x01 x \x01");
}

TEST_CASE("trim returns a view into its argument, not a copy") {
  const std::string text = "  value  ";
  std::string_view trimmed = trim(text);
  CHECK(trimmed.data() == text.data() + 2);
  CHECK(trimmed.size() == 5);
}

TEST_CASE("split_trimmed trims every piece") {
  CHECK(split_trimmed("a, b ,c", ',') == Strings{"a", "b", "c"});
  CHECK(split_trimmed("  mqtt ,\tlocal  ", ',') == Strings{"mqtt", "local"});
  CHECK(split_trimmed("/a:/b", ':') == Strings{"/a", "/b"});
  CHECK(split_trimmed("no separator", ',') == Strings{"no separator"});
}

TEST_CASE("split_trimmed keeps empty pieces, including leading and trailing ones") {
  CHECK(split_trimmed("a,,b,", ',') == Strings{"a", "", "b", ""});
  CHECK(split_trimmed(",a", ',') == Strings{"", "a"});
  CHECK(split_trimmed(" , ", ',') == Strings{"", ""});
  CHECK(split_trimmed("", ',') == Strings{""});
}

TEST_CASE("edit_distance is the Levenshtein distance") {
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("flaw", "lawn") == 2);
  CHECK(edit_distance("Pol", "Poll") == 1);   // one insertion
  CHECK(edit_distance("Poll", "Pol") == 1);   // one deletion
  CHECK(edit_distance("Pill", "Poll") == 1);  // one substitution
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("abc", "") == 3);
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("same", "same") == 0);
}

TEST_CASE("edit_distance ignores ASCII case") {
  CHECK(edit_distance("Poll", "pOLL") == 0);
  CHECK(edit_distance("NUM-DEST", "num-dest") == 0);
  CHECK(edit_distance("Num-Dst", "NUM-DEST") == 1);
}

TEST_CASE("closest_match picks the nearest candidate, case-insensitively") {
  const Strings known{"Class", "Poll", "Pin", "Num-Dest"};
  CHECK(closest_match("Pol", known) == "Poll");
  CHECK(closest_match("pOLL", known) == "Poll");
  CHECK(closest_match("Num-Dst", known) == "Num-Dest");
  CHECK(closest_match("clas", known) == "Class");
}

TEST_CASE("closest_match returns the first of equally close candidates") {
  CHECK(closest_match("Pen", Strings{"Pin", "Pan"}) == "Pin");
  CHECK(closest_match("Pen", Strings{"Pan", "Pin"}) == "Pan");
}

TEST_CASE("closest_match allows a third of the word's length, at least 2 edits") {
  // Short words: at most 2 edits.
  CHECK(closest_match("Pin", Strings{"Poll"}) == "");  // 3 edits
  CHECK(closest_match("Pi", Strings{"Pin"}) == "Pin");  // 1 edit
  // Six letters: limit max(2, 6/3) = 2.
  CHECK(closest_match("abcdef", Strings{"abXYef"}) == "abXYef");  // 2 edits
  CHECK(closest_match("abcdef", Strings{"aXYZef"}) == "");        // 3 edits
  // Nine letters: limit 9/3 = 3.
  CHECK(closest_match("abcdefghi", Strings{"abcXYZghi"}) == "abcXYZghi");  // 3 edits
  CHECK(closest_match("abcdefghi", Strings{"aWXYZfghi"}) == "");           // 4 edits
}

TEST_CASE("closest_match with no candidates finds nothing") {
  CHECK(closest_match("Poll", Strings{}) == "");
  CHECK(closest_match("Zzzzzz", Strings{"Class", "Poll"}) == "");
}

TEST_CASE("join puts the separator between parts only") {
  CHECK(join(Strings{}, ", ") == "");
  CHECK(join(Strings{"a"}, ", ") == "a");
  CHECK(join(Strings{"a", "b", "c"}, ", ") == "a, b, c");
  CHECK(join(Strings{"", ""}, ",") == ",");
  CHECK(join(Strings{"x", "y"}, "") == "xy");
}
