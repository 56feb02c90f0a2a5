// How the host reads what a module wrote, whatever ABI 1.x minor the module
// was built for: plugin_abi.h's "Compatibility rules" as code. The loader
// (registry.cpp) is the only user; it is a header so the unit tests can drive
// the copy and the table walk with made-up, grown layouts.
//
// Nothing here keeps a pointer into the module: every result is a copy.
#pragma once

#include <sensor_reporter/plugin_abi.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

// Bytes from the start of `type` to the end of `member`: the size of the
// struct as it was when `member` was its last one.
#define SR_END_OF(type, member) (offsetof(type, member) + sizeof(type::member))

namespace sr::abi {

// The least a module declaring a given minor may have written of each struct
// it hands the host: the struct's size as that minor defined it.
struct ModuleLayout {
  size_t descriptor;  // sr_module_descriptor
  size_t class_def;   // sr_class_def
  size_t param_def;   // one sr_param_def table entry
  size_t io_def;      // one sr_io_def table entry
};

// One row per minor, indexed by minor. A minor that appends a member to one of
// these structs adds a row whose size ends at that member.
inline constexpr ModuleLayout kLayoutOfMinor[] = {
    // 1.0
    {SR_END_OF(sr_module_descriptor, classes), SR_END_OF(sr_class_def, conn_subscribe),
     SR_END_OF(sr_param_def, help), SR_END_OF(sr_io_def, measures)},
    // 1.1 appended only sr_host_api.set_status, which the host writes.
    {SR_END_OF(sr_module_descriptor, classes), SR_END_OF(sr_class_def, conn_subscribe),
     SR_END_OF(sr_param_def, help), SR_END_OF(sr_io_def, measures)},
    // 1.2 appended to the class and to both table entries.
    {SR_END_OF(sr_module_descriptor, classes), SR_END_OF(sr_class_def, conn_catalogue_changed),
     SR_END_OF(sr_param_def, paired_with), SR_END_OF(sr_io_def, values_param)},
};
static_assert(std::size(kLayoutOfMinor) == SR_ABI_MINOR + 1, "every minor up to SR_ABI_MINOR needs its row");

// The current minor's row must reach the last member of each struct (only
// tail padding may follow it): otherwise a member was appended without a row.
template <typename T>
constexpr bool reaches_last_member(size_t size) {
  return size <= sizeof(T) && sizeof(T) - size < alignof(T);
}
static_assert(reaches_last_member<sr_module_descriptor>(kLayoutOfMinor[SR_ABI_MINOR].descriptor));
static_assert(reaches_last_member<sr_class_def>(kLayoutOfMinor[SR_ABI_MINOR].class_def));
static_assert(reaches_last_member<sr_param_def>(kLayoutOfMinor[SR_ABI_MINOR].param_def));
static_assert(reaches_last_member<sr_io_def>(kLayoutOfMinor[SR_ABI_MINOR].io_def));

// `minor` must not be newer than SR_ABI_MINOR (the loader refuses those first).
constexpr const ModuleLayout& layout_of_minor(uint32_t minor) { return kLayoutOfMinor[minor]; }

// A zero-filled T holding the first min(size, sizeof(T)) bytes at `from`: a
// member the writer's layout did not have reads as 0 or NULL, and whatever a
// longer struct carries beyond the host's layout is not read.
template <typename T>
T copy_struct(const void* from, size_t size) {
  static_assert(std::is_standard_layout_v<T> && std::is_trivially_copyable_v<T>);
  T to{};
  std::memcpy(&to, from, std::min(size, sizeof(T)));
  return to;
}

// A module's struct read as the minor it declares: the first
// min(size, declared) bytes, zero-filled beyond. `declared` is
// layout_of_minor(minor) for the struct. A writer's struct may be longer than
// its declared minor's layout (the SDK writes its own sizeof whatever minor it
// answers; a module may fill members of a newer header and still declare an
// older minor): what lies past the declared layout was never promised under
// that minor's rules, so the host must not read it, let alone call it.
template <typename T>
T copy_declared(const void* from, size_t size, size_t declared) {
  return copy_struct<T>(from, std::min(size, declared));
}

// A table longer than this has lost its end marker.
inline constexpr size_t kMaxTableEntries = 1024;

// Copies a module's table (sr_param_def or sr_io_def entries) into host-sized,
// zero-filled structs, walking it by element size: every entry is as long as
// its own struct_size says and the next one starts right after it. `min_size`
// is the declared minor's layout of one entry: the least an entry may be, and
// the most of each entry the host reads (copy_declared). `is_end`
// recognises the end marker from a copy of its first `min_size` bytes (the
// marker's struct_size is not read). Returns the entries without the end
// marker, or why the table cannot be read: "<what> entry 2 is 40 bytes; ...".
template <typename T, typename IsEnd>
std::variant<std::vector<T>, std::string> copy_table(const T* table, size_t min_size, uint32_t minor,
                                                     std::string_view what, IsEnd is_end) {
  std::vector<T> entries;
  const auto* cursor = reinterpret_cast<const unsigned char*>(table);
  for (size_t index = 0; index < kMaxTableEntries; ++index) {
    T head = copy_struct<T>(cursor, min_size);
    if (is_end(head)) return entries;
    if (head.struct_size < min_size)
      return fmt::format("{} entry {} is {} bytes; ABI {}.{} needs at least {}", what, index + 1,
                         head.struct_size, SR_ABI_MAJOR, minor, min_size);
    if (head.struct_size % alignof(T) != 0)
      return fmt::format("{} entry {} is {} bytes, not a multiple of {}", what, index + 1, head.struct_size,
                         alignof(T));
    entries.push_back(copy_declared<T>(cursor, head.struct_size, min_size));
    cursor += head.struct_size;
  }
  return fmt::format("{} has no end marker within {} entries", what, kMaxTableEntries);
}

}  // namespace sr::abi
