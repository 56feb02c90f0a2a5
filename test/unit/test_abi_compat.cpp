// Unit tests for how the host reads what a module wrote (plugin_abi.h's
// compatibility rules, src/plugin/abi_compat.h): the frozen 1.0 and 1.1
// layouts are prefixes of today's and are what the loader demands; structs
// are copied by their size into zero-filled host structs; tables are walked
// by element size, whether the module's entries are shorter or longer than
// the host's.
#include <sensor_reporter/plugin_abi.h>

#include "plugin/abi_compat.h"
#include "plugins/abi/frozen_abi.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

// ---------------------------------------------------------------------------
// Frozen layouts: every member where today's header has it, and the loader's
// minimum sizes are exactly the frozen structs' sizes.

#define SAME_MEMBER(old, now, member)                                                               \
  static_assert(                                                                                    \
      offsetof(old, member) == offsetof(now, member) && sizeof(old::member) == sizeof(now::member), \
      #old "::" #member " moved: a minor may only append")

namespace v10 = frozen::v1_0;
namespace v11 = frozen::v1_1;

SAME_MEMBER(v10::sr_module_descriptor, sr_module_descriptor, abi_major);
SAME_MEMBER(v10::sr_module_descriptor, sr_module_descriptor, abi_minor);
SAME_MEMBER(v10::sr_module_descriptor, sr_module_descriptor, struct_size);
SAME_MEMBER(v10::sr_module_descriptor, sr_module_descriptor, class_count);
SAME_MEMBER(v10::sr_module_descriptor, sr_module_descriptor, module_name);
SAME_MEMBER(v10::sr_module_descriptor, sr_module_descriptor, module_version);
SAME_MEMBER(v10::sr_module_descriptor, sr_module_descriptor, classes);

SAME_MEMBER(v10::sr_class_def, sr_class_def, struct_size);
SAME_MEMBER(v10::sr_class_def, sr_class_def, kind);
SAME_MEMBER(v10::sr_class_def, sr_class_def, name);
SAME_MEMBER(v10::sr_class_def, sr_class_def, path);
SAME_MEMBER(v10::sr_class_def, sr_class_def, summary);
SAME_MEMBER(v10::sr_class_def, sr_class_def, params);
SAME_MEMBER(v10::sr_class_def, sr_class_def, ios);
SAME_MEMBER(v10::sr_class_def, sr_class_def, create);
SAME_MEMBER(v10::sr_class_def, sr_class_def, destroy);
SAME_MEMBER(v10::sr_class_def, sr_class_def, start);
SAME_MEMBER(v10::sr_class_def, sr_class_def, poll);
SAME_MEMBER(v10::sr_class_def, sr_class_def, refresh);
SAME_MEMBER(v10::sr_class_def, sr_class_def, on_command);
SAME_MEMBER(v10::sr_class_def, sr_class_def, conn_publish);
SAME_MEMBER(v10::sr_class_def, sr_class_def, conn_subscribe);

SAME_MEMBER(v10::sr_param_def, sr_param_def, struct_size);
SAME_MEMBER(v10::sr_param_def, sr_param_def, type);
SAME_MEMBER(v10::sr_param_def, sr_param_def, flags);
SAME_MEMBER(v10::sr_param_def, sr_param_def, name);
SAME_MEMBER(v10::sr_param_def, sr_param_def, default_value);
SAME_MEMBER(v10::sr_param_def, sr_param_def, min);
SAME_MEMBER(v10::sr_param_def, sr_param_def, max);
SAME_MEMBER(v10::sr_param_def, sr_param_def, choices);
SAME_MEMBER(v10::sr_param_def, sr_param_def, help);

SAME_MEMBER(v10::sr_io_def, sr_io_def, struct_size);
SAME_MEMBER(v10::sr_io_def, sr_io_def, direction);
SAME_MEMBER(v10::sr_io_def, sr_io_def, value_type);
SAME_MEMBER(v10::sr_io_def, sr_io_def, key);
SAME_MEMBER(v10::sr_io_def, sr_io_def, values);
SAME_MEMBER(v10::sr_io_def, sr_io_def, unit);
SAME_MEMBER(v10::sr_io_def, sr_io_def, measures);

SAME_MEMBER(v10::sr_param_value, sr_param_value, key);
SAME_MEMBER(v10::sr_param_value, sr_param_value, value);
static_assert(sizeof(v10::sr_param_value) == sizeof(sr_param_value), "sr_param_value is frozen");
SAME_MEMBER(v10::sr_publish_opts, sr_publish_opts, struct_size);
SAME_MEMBER(v10::sr_publish_opts, sr_publish_opts, flags);

SAME_MEMBER(v10::sr_host_api, sr_host_api, struct_size);
SAME_MEMBER(v10::sr_host_api, sr_host_api, log_enabled);
SAME_MEMBER(v10::sr_host_api, sr_host_api, log);
SAME_MEMBER(v10::sr_host_api, sr_host_api, publish);
SAME_MEMBER(v10::sr_host_api, sr_host_api, subscribe);
SAME_MEMBER(v10::sr_host_api, sr_host_api, poll_done);
SAME_MEMBER(v10::sr_host_api, sr_host_api, deliver);
SAME_MEMBER(v10::sr_host_api, sr_host_api, request_refresh);
SAME_MEMBER(v10::sr_host_api, sr_host_api, add_timer);
SAME_MEMBER(v10::sr_host_api, sr_host_api, cancel_timer);
SAME_MEMBER(v10::sr_host_api, sr_host_api, watch_fd);
SAME_MEMBER(v10::sr_host_api, sr_host_api, modify_fd);
SAME_MEMBER(v10::sr_host_api, sr_host_api, unwatch_fd);
SAME_MEMBER(v10::sr_host_api, sr_host_api, run_blocking);
SAME_MEMBER(v10::sr_host_api, sr_host_api, post);
SAME_MEMBER(v10::sr_host_api, sr_host_api, monotonic_ns);
SAME_MEMBER(v10::sr_host_api, sr_host_api, section_name);
SAME_MEMBER(v11::sr_host_api, sr_host_api, section_name);
SAME_MEMBER(v11::sr_host_api, sr_host_api, set_status);

// 1.1 changed nothing a module writes.
static_assert(sizeof(v11::sr_class_def) == sizeof(v10::sr_class_def));
static_assert(sizeof(v11::sr_module_descriptor) == sizeof(v10::sr_module_descriptor));
static_assert(sizeof(v11::sr_host_api) == sizeof(v10::sr_host_api) + sizeof(void*));

// The loader demands what each minor's module wrote, no more, no less.
template <typename Frozen>
constexpr bool layout_is(const sr::abi::ModuleLayout& layout) {
  return layout.descriptor == sizeof(typename Frozen::sr_module_descriptor) &&
         layout.class_def == sizeof(typename Frozen::sr_class_def) &&
         layout.param_def == sizeof(typename Frozen::sr_param_def) &&
         layout.io_def == sizeof(typename Frozen::sr_io_def);
}
struct Frozen10 {
  using sr_module_descriptor = v10::sr_module_descriptor;
  using sr_class_def = v10::sr_class_def;
  using sr_param_def = v10::sr_param_def;
  using sr_io_def = v10::sr_io_def;
};
struct Frozen11 {
  using sr_module_descriptor = v11::sr_module_descriptor;
  using sr_class_def = v11::sr_class_def;
  using sr_param_def = v11::sr_param_def;
  using sr_io_def = v11::sr_io_def;
};
static_assert(layout_is<Frozen10>(sr::abi::layout_of_minor(0)));
static_assert(layout_is<Frozen11>(sr::abi::layout_of_minor(1)));

// Modules built against 1.0 looked for the same symbol.
static_assert(std::string_view(SR_PLUGIN_STRINGIFY(FROZEN_SR_PLUGIN_ENTRY)) == SR_PLUGIN_ENTRY_NAME);

// ---------------------------------------------------------------------------
// Made-up layouts: an entry as an older minor wrote it, and the same entry
// with one member appended, as a later minor has it.

namespace {

struct OldEntry {
  uint32_t struct_size;
  uint32_t type;
  const char* name;
};
struct NewEntry {
  uint32_t struct_size;
  uint32_t type;
  const char* name;
  const char* appended;
};

bool old_end(const OldEntry& e) { return e.name == nullptr; }
bool new_end(const NewEntry& e) { return e.name == nullptr; }

template <typename T>
std::vector<T> entries(const std::variant<std::vector<T>, std::string>& result) {
  if (auto* problem = std::get_if<std::string>(&result)) FAIL(*problem);
  return std::get<std::vector<T>>(result);
}

std::string problem(const auto& result) {
  auto* text = std::get_if<std::string>(&result);
  return text ? *text : "(no problem)";
}

}  // namespace

TEST_CASE("copy_struct copies what the writer wrote and zero-fills what its layout did not have") {
  OldEntry old{sizeof(OldEntry), 7, "Key"};
  NewEntry grown = sr::abi::copy_struct<NewEntry>(&old, old.struct_size);
  CHECK(grown.struct_size == sizeof(OldEntry));
  CHECK(grown.type == 7u);
  CHECK(std::string(grown.name) == "Key");
  CHECK(grown.appended == nullptr);
}

TEST_CASE("copy_struct reads no more than the host's own layout of a longer struct") {
  NewEntry longer{sizeof(NewEntry), 3, "Key", "not the host's"};
  OldEntry copy = sr::abi::copy_struct<OldEntry>(&longer, longer.struct_size);
  CHECK(copy.struct_size == sizeof(NewEntry));  // still says what the module wrote
  CHECK(copy.type == 3u);
  CHECK(std::string(copy.name) == "Key");
}

TEST_CASE("a table of shorter entries is walked by their size and copied into longer host entries") {
  const OldEntry table[] = {{sizeof(OldEntry), 1, "First"}, {sizeof(OldEntry), 2, "Second"}, {}};
  auto copied = entries(sr::abi::copy_table(reinterpret_cast<const NewEntry*>(table), sizeof(OldEntry), 0,
                                            "parameter table", new_end));
  REQUIRE(copied.size() == 2);
  CHECK(std::string(copied[0].name) == "First");
  CHECK(copied[0].type == 1u);
  CHECK(copied[0].appended == nullptr);
  CHECK(std::string(copied[1].name) == "Second");
  CHECK(copied[1].type == 2u);
  CHECK(copied[1].appended == nullptr);
}

TEST_CASE("a table of longer entries is walked by their size; the host keeps its own part of each") {
  const NewEntry table[] = {{sizeof(NewEntry), 1, "First", "x"},
                            {sizeof(NewEntry), 2, "Second", "y"},
                            {sizeof(NewEntry), 3, "Third", "z"},
                            {}};
  auto copied = entries(sr::abi::copy_table(reinterpret_cast<const OldEntry*>(table), sizeof(OldEntry), 0,
                                            "parameter table", old_end));
  REQUIRE(copied.size() == 3);
  CHECK(std::string(copied[0].name) == "First");
  CHECK(std::string(copied[1].name) == "Second");
  CHECK(std::string(copied[2].name) == "Third");
  CHECK(copied[2].type == 3u);
}

TEST_CASE("the end marker's struct_size is not read: the SDK leaves it 0") {
  const OldEntry table[] = {{sizeof(OldEntry), 1, "Only"}, {0, 0, nullptr}};
  CHECK(entries(sr::abi::copy_table(table, sizeof(OldEntry), 0, "parameter table", old_end)).size() == 1);
  const OldEntry empty[] = {{}};
  CHECK(entries(sr::abi::copy_table(empty, sizeof(OldEntry), 0, "parameter table", old_end)).empty());
}

TEST_CASE("an entry shorter than its minor's layout is refused, naming the entry and both sizes") {
  const NewEntry table[] = {
      {sizeof(NewEntry), 1, "Fine", nullptr}, {sizeof(OldEntry), 2, "Short", nullptr}, {}};
  CHECK(problem(sr::abi::copy_table(table, sizeof(NewEntry), 3, "parameter table", new_end)) ==
        fmt::format("parameter table entry 2 is {} bytes; ABI 1.3 needs at least {}", sizeof(OldEntry),
                    sizeof(NewEntry)));
}

TEST_CASE("an entry size that is not a multiple of the alignment is refused") {
  const NewEntry table[] = {{sizeof(OldEntry) + 1, 1, "Odd", nullptr}, {}};
  CHECK(problem(sr::abi::copy_table(reinterpret_cast<const OldEntry*>(table), sizeof(OldEntry), 0,
                                    "publishes/accepts table", old_end)) ==
        fmt::format("publishes/accepts table entry 1 is {} bytes, not a multiple of {}", sizeof(OldEntry) + 1,
                    alignof(OldEntry)));
}

TEST_CASE("a table without an end marker is refused after kMaxTableEntries entries") {
  std::vector<OldEntry> endless(sr::abi::kMaxTableEntries + 1, OldEntry{sizeof(OldEntry), 1, "Again"});
  CHECK(problem(sr::abi::copy_table(endless.data(), sizeof(OldEntry), 0, "parameter table", old_end)) ==
        "parameter table has no end marker within 1024 entries");
}

TEST_CASE("a module declaring an older minor is read by that minor's layout, however long its struct") {
  // A class def as a module built with today's header writes it (struct_size
  // = sizeof), with 1.2 members filled, but declaring minor 1: the host must
  // see none of the 1.2 members.
  sr_class_def written{};
  written.struct_size = sizeof(sr_class_def);
  written.name = "Old";
  written.conn_subscribe_ex = [](void*, const char*, uint32_t) { return SR_OK; };
  written.conn_unsubscribe = [](void*, const char*, uint32_t) { return SR_OK; };
  written.conn_catalogue_changed = [](void*) { return SR_OK; };
  written.check = [](const sr_param_value*, size_t, sr_check_report_fn, void*) { return SR_OK; };
  for (uint32_t minor : {0u, 1u}) {
    CAPTURE(minor);
    auto read = sr::abi::copy_declared<sr_class_def>(&written, written.struct_size,
                                                     sr::abi::layout_of_minor(minor).class_def);
    CHECK(std::string(read.name) == "Old");
    CHECK(read.struct_size == sizeof(sr_class_def));  // still says what the module wrote
    CHECK(!read.check);
    CHECK(!read.conn_subscribe_ex);
    CHECK(!read.conn_unsubscribe);
    CHECK(!read.conn_catalogue_changed);
  }
  auto current = sr::abi::copy_declared<sr_class_def>(&written, written.struct_size,
                                                      sr::abi::layout_of_minor(SR_ABI_MINOR).class_def);
  CHECK_FALSE(!current.conn_subscribe_ex);
  CHECK_FALSE(!current.conn_catalogue_changed);
}

TEST_CASE("table entries of a module declaring an older minor lose the members that minor did not have") {
  sr_param_def table[2]{};
  table[0].struct_size = sizeof(sr_param_def);
  table[0].type = SR_PARAM_STRING;
  table[0].name = "Key";
  table[0].pattern = "^[a-z]+$";
  table[0].paired_with = "Other";
  auto copied = entries(sr::abi::copy_table(table, sr::abi::layout_of_minor(1).param_def, 1, "parameter table",
                                            [](const sr_param_def& p) { return p.name == nullptr; }));
  REQUIRE(copied.size() == 1);
  CHECK(std::string(copied[0].name) == "Key");
  CHECK(copied[0].pattern == nullptr);
  CHECK(copied[0].paired_with == nullptr);
  auto today = entries(sr::abi::copy_table(table, sr::abi::layout_of_minor(SR_ABI_MINOR).param_def, SR_ABI_MINOR,
                                           "parameter table", [](const sr_param_def& p) { return p.name == nullptr; }));
  REQUIRE(today.size() == 1);
  CHECK(std::string(today[0].pattern) == "^[a-z]+$");
}
