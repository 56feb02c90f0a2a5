// Finds, loads and checks plugin modules, and resolves `Class` strings.
//
// Modules are dlopen'ed RTLD_NOW|RTLD_LOCAL|RTLD_NODELETE when first needed
// and stay mapped until the process exits (the registry's dlclose only drops
// the handle): a class descriptor or code pointer is never left dangling.
#pragma once

#include <sensor_reporter/plugin_abi.h>

#include <sensor_reporter/handle.hpp>

#include <dlfcn.h>

#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sr {

struct LoadedModule;

// A class as the rest of the host sees it. `def` and both tables are the
// loader's copies (LoadedClass), with the host's layout and stride whatever
// minor the module was built for; the strings and callbacks in them point into
// the module, which stays loaded as long as the registry. Iterate `params` and
// `ios`; never walk a table the module wrote at the host's stride.
struct PluginClass {
  const LoadedModule* module = nullptr;
  const sr_class_def* def = nullptr;
  std::span<const sr_param_def> params;  // the class's parameter table, no end marker
  std::span<const sr_io_def> ios;        // what it publishes and accepts; may be empty
};

// One class of a loaded module, read by plugin_abi.h's compatibility rules:
// the module's sr_class_def copied into a zero-filled struct of the host's
// size (struct_size still says how much the module wrote; members it did not
// write are NULL), its tables walked by element size and copied likewise.
// def.params and def.ios point at the copies below, each ending with a
// zero-filled end marker, so even a walk at the host's stride stays correct.
struct LoadedClass {
  sr_class_def def{};
  std::vector<sr_param_def> params;  // with the end marker
  std::vector<sr_io_def> ios;        // with the end marker, or empty when the module has none
};

struct LoadedModule {
  std::string name;  // "heartbeat"
  std::string path;  // the .so file
  sdk::CHandle<void, dlclose> handle;
  // The module's descriptor, copied like a class; `classes` points at
  // class_defs. abi_minor is the minor the module answered.
  sr_module_descriptor descriptor{};
  std::vector<LoadedClass> classes;  // filled once at load, never resized after
  std::vector<const sr_class_def*> class_defs;

  PluginClass plugin_class(size_t index) const;
};

// Why a class could not be had. exit_code follows sysexits: 69
// (EX_UNAVAILABLE) when a module is broken or missing, 78 (EX_CONFIG) when
// the module is fine but the configuration names something it lacks.
struct PluginError {
  int exit_code;
  std::string message;
  bool module_missing = false;  // the module's file is in no directory of the search path
};

// A resolved `Class` string. `warning` is set when the string named a module
// that is in no directory of the search path and the class was taken from
// the one module that has it (SPEC 3.3: the original's documents write
// govee.govee_sensor.GoveeSensor for a class of module bt); it names the
// canonical string to write instead. Empty when the string was exact.
struct ResolvedClass {
  PluginClass plugin;
  std::string warning;
};

// The dotted `Class` string that resolves to `plugin` directly: its declared
// path when that names its module and class, else "module.Class".
std::string canonical_path(const PluginClass& plugin);

class PluginRegistry {
 public:
  explicit PluginRegistry(std::vector<std::string> search_path);

  // "heartbeat.heartbeat.Heartbeat" (module = first component, class = last)
  // or a bare "Heartbeat" (every module on the path is searched). A module
  // that exists decides alone, even when it lacks the class; when the named
  // module does not exist, every module on the path is searched and exactly
  // one must have the class (ResolvedClass::warning says so).
  std::variant<ResolvedClass, PluginError> resolve(std::string_view class_string);

  // Loads every module on the search path (first directory wins for a
  // module name); returns the problems of those that could not be loaded.
  std::vector<PluginError> load_all();
  std::vector<PluginClass> classes() const;  // of the loaded modules, sorted by name

  const std::vector<std::string>& search_path() const { return search_path_; }

  // Forgets the modules that could not be found or loaded, so the next
  // resolve looks again (SIGHUP after the missing package was installed).
  // Loaded modules stay: they are never unloaded.
  void forget_failures() { failed_.clear(); }

  // Default search path: --plugin-dir entries, then SENSOR_REPORTER_PLUGIN_PATH
  // (colon separated), then the compiled-in plugin directory.
  static std::vector<std::string> default_search_path(const std::vector<std::string>& plugin_dirs);

 private:
  std::variant<const LoadedModule*, PluginError> load_module(std::string_view module_name);
  // The class of a dotted string whose module is missing (`missing` says so):
  // taken from the one module on the path that has it, or an error that
  // lists the modules that do (several) or the classes there are (none).
  std::variant<ResolvedClass, PluginError> resolve_elsewhere(std::string_view module_name,
                                                             std::string_view class_name,
                                                             const PluginError& missing);
  // Every class on the path named `class_name` (loads every module).
  std::vector<PluginClass> classes_named(std::string_view class_name, std::vector<PluginError>& broken);
  // "available classes: A, B[; not loadable: x.so (see ...)]" for an error
  // about a class no module has.
  std::string available_classes(const std::vector<PluginError>& broken) const;
  std::variant<const LoadedModule*, PluginError> load_file(const std::string& path,
                                                           const std::string& module_name);

  std::vector<std::string> search_path_;
  std::map<std::string, std::unique_ptr<LoadedModule>, std::less<>> modules_;
  std::map<std::string, PluginError, std::less<>> failed_;  // by module name
};

// Checks one class's (copied) descriptor and parameter table; "" when sound.
std::string check_class(const sr_class_def& def, std::span<const sr_param_def> params);

std::string_view kind_name(uint32_t kind);

}  // namespace sr
