// A module whose parameter table has an entry shorter than the ABI 1.0
// layout (its second entry says it ends before `choices`: 48 bytes on LP64):
// the host, walking the table by each entry's own struct_size, refuses it,
// naming the file, the class, the entry and both sizes.
#include <sensor_reporter/plugin_abi.h>

#include <cstddef>

namespace {

void* create(const sr_host_api*, sr_host_ctx*, const sr_param_value*, size_t, char*, size_t) {
  return nullptr;
}
void destroy(void*) {}

constexpr sr_param_def kParams[] = {
    {sizeof(sr_param_def), SR_PARAM_STRING, 0, "Fine", nullptr, 0, 0, nullptr, "a whole entry", nullptr,
     nullptr, nullptr},
    {offsetof(sr_param_def, choices), SR_PARAM_STRING, 0, "Short", nullptr, 0, 0, nullptr,
     "claims to end before choices", nullptr, nullptr, nullptr},
    {},
};

constexpr sr_class_def kClass = [] {
  sr_class_def def{};
  def.struct_size = sizeof(sr_class_def);
  def.kind = SR_KIND_SENSOR;
  def.name = "ShortParam";
  def.path = "short_param.short.ShortParam";
  def.summary = "A parameter entry shorter than ABI 1.0's (tests only)";
  def.params = kParams;
  def.create = create;
  def.destroy = destroy;
  return def;
}();
constexpr const sr_class_def* kClasses[] = {&kClass};
constexpr sr_module_descriptor kDescriptor{
    SR_ABI_MAJOR, 0, sizeof(sr_module_descriptor), 1, "short_param", "1.0.0", kClasses};

}  // namespace

extern "C" __attribute__((visibility("default"))) const sr_module_descriptor* SR_PLUGIN_ENTRY(uint32_t,
                                                                                              uint32_t) {
  return &kDescriptor;
}
