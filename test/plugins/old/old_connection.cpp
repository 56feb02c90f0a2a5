// Module "old_connection": a connection that declares plugin ABI 1.1 although
// it is built with today's header, as a module ported in a hurry might. Its
// class descriptor is today's size and fills the 1.2 members too; the host
// must read it by the 1.1 layout (so never call them) and must not hand it an
// absolute topic, which a 1.1 connection would file under its root.
//
// Every call it gets is logged to its section ("old: publish <dest> = <payload>"),
// so the tests see what reached it. A 1.2 member that is called logs
// "old: 1.2 member called".
//
//   [Connection_Old]
//   Class = old_connection.old.OldConnection
//   Name = old
#include <sensor_reporter/plugin_abi.h>

#include <cstdio>
#include <cstring>
#include <new>
#include <string>

namespace {

struct Old {
  const sr_host_api* host;
  sr_host_ctx* ctx;
  void say(const std::string& text) const { host->log(ctx, SR_LOG_INFO, text.data(), text.size()); }
};

void* create(const sr_host_api* host, sr_host_ctx* ctx, const sr_param_value*, size_t, char* err,
             size_t err_size) {
  auto* old = new (std::nothrow) Old{host, ctx};
  if (!old) std::snprintf(err, err_size, "out of memory");
  return old;
}
void destroy(void* instance) { delete static_cast<Old*>(instance); }
int start(void*) { return SR_OK; }
int publish(void* instance, const char* destination, const char* payload, size_t len,
            const sr_publish_opts* opts) {
  static_cast<Old*>(instance)->say("old: publish " + std::string(destination) + " = " +
                                   std::string(payload, len) + " flags " +
                                   std::to_string(opts ? opts->flags : 0));
  return SR_OK;
}
int subscribe(void* instance, const char* source) {
  static_cast<Old*>(instance)->say("old: subscribe " + std::string(source));
  return SR_OK;
}
int subscribe_ex(void* instance, const char*, uint32_t) {
  static_cast<Old*>(instance)->say("old: 1.2 member called (subscribe_ex)");
  return SR_OK;
}
int unsubscribe(void* instance, const char*, uint32_t) {
  static_cast<Old*>(instance)->say("old: 1.2 member called (unsubscribe)");
  return SR_OK;
}
int catalogue_changed(void* instance) {
  static_cast<Old*>(instance)->say("old: 1.2 member called (catalogue_changed)");
  return SR_OK;
}

const sr_param_def params[] = {{}};

sr_class_def make_class() {
  sr_class_def def{};
  def.struct_size = sizeof(sr_class_def);  // today's size, declaring 1.1
  def.kind = SR_KIND_CONNECTION;
  def.name = "OldConnection";
  def.path = "old_connection.old.OldConnection";
  def.summary = "A connection declaring ABI 1.1 (tests only)";
  def.params = params;
  def.create = create;
  def.destroy = destroy;
  def.start = start;
  def.conn_publish = publish;
  def.conn_subscribe = subscribe;
  def.conn_subscribe_ex = subscribe_ex;
  def.conn_unsubscribe = unsubscribe;
  def.conn_catalogue_changed = catalogue_changed;
  return def;
}

const sr_class_def old_class = make_class();
const sr_class_def* const classes[] = {&old_class};
const sr_module_descriptor descriptor = {
    SR_ABI_MAJOR, 1, sizeof(sr_module_descriptor), 1, "old_connection", "1.0.0", classes};

}  // namespace

extern "C" __attribute__((visibility("default"))) const sr_module_descriptor* SR_PLUGIN_ENTRY(uint32_t,
                                                                                              uint32_t) {
  return &descriptor;
}
