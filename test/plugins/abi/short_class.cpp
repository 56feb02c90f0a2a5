// A module whose class descriptor is shorter than the ABI 1.0 layout it
// declares (it stops before conn_subscribe): the host refuses it, naming
// the file, the class and both sizes, instead of reading past what the
// module wrote.
#include <sensor_reporter/plugin_abi.h>

#include <cstddef>

namespace {

void* create(const sr_host_api*, sr_host_ctx*, const sr_param_value*, size_t, char*, size_t) {
  return nullptr;
}
void destroy(void*) {}

constexpr sr_param_def kParams[] = {{}};

constexpr sr_class_def kClass = [] {
  sr_class_def def{};
  def.struct_size = offsetof(sr_class_def, conn_publish) + sizeof def.conn_publish;
  def.kind = SR_KIND_SENSOR;
  def.name = "ShortClass";
  def.path = "short_class.short.ShortClass";
  def.summary = "A class descriptor shorter than ABI 1.0's (tests only)";
  def.params = kParams;
  def.create = create;
  def.destroy = destroy;
  return def;
}();
constexpr const sr_class_def* kClasses[] = {&kClass};
constexpr sr_module_descriptor kDescriptor{
    SR_ABI_MAJOR, 0, sizeof(sr_module_descriptor), 1, "short_class", "1.0.0", kClasses};

}  // namespace

extern "C" __attribute__((visibility("default"))) const sr_module_descriptor* SR_PLUGIN_ENTRY(uint32_t,
                                                                                              uint32_t) {
  return &kDescriptor;
}
