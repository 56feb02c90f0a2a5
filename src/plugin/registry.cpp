#include "plugin/registry.h"

#include "config.h"
#include "config/param_check.h"
#include "plugin/abi_compat.h"
#include "util/text.h"

#include <dirent.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <set>

namespace sr {
namespace {

constexpr int kExUnavailable = 69;
constexpr int kExConfig = 78;

bool is_file(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::vector<std::string> list_modules(const std::string& dir) {
  std::vector<std::string> names;
  sdk::CHandle<DIR, closedir> d(opendir(dir.c_str()));
  if (!d) return names;
  while (dirent* entry = readdir(d.get())) {
    std::string_view file = entry->d_name;
    if (file.size() > 3 && file.substr(file.size() - 3) == ".so")
      names.emplace_back(file.substr(0, file.size() - 3));
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string path_in(std::string_view dir, std::string_view file) {
  while (dir.size() > 1 && dir.back() == '/') dir.remove_suffix(1);
  return fmt::format("{}/{}", dir, file);
}

// "sr_test.test.TestSensor (/build/test/plugins/sr_test.so), ..." for an
// error that asks the user to pick one.
std::string candidate_list(const std::vector<PluginClass>& matches) {
  std::vector<std::string> paths;
  for (const auto& m : matches) paths.push_back(fmt::format("{} ({})", canonical_path(m), m.module->path));
  return join(paths, ", ");
}

}  // namespace

std::string_view kind_name(uint32_t kind) {
  switch (kind) {
    case SR_KIND_CONNECTION: return "connection";
    case SR_KIND_SENSOR: return "sensor";
    case SR_KIND_ACTUATOR: return "actuator";
  }
  return "unknown";
}

std::string check_class(const sr_class_def& def, std::span<const sr_param_def> params) {
  if (!def.name || !*def.name) return "a class has no name";
  if (kind_name(def.kind) == "unknown") return fmt::format("class {}: unknown kind {}", def.name, def.kind);
  if (!def.create || !def.destroy) return fmt::format("class {}: no create/destroy function", def.name);
  if (!def.params) return fmt::format("class {}: no parameter table", def.name);
  for (const sr_param_def& p : params) {
    if (config::type_name(p.type) == "unknown")
      return fmt::format("class {}: parameter {}: unknown type {}", def.name, p.name, p.type);
    if (p.type == SR_PARAM_CHOICE && (!p.choices || !*p.choices))
      return fmt::format("class {}: parameter {}: a choice without choices", def.name, p.name);
    if (auto problem = config::check_pattern(p.pattern))
      return fmt::format("class {}: parameter {}: invalid pattern '{}': {}", def.name, p.name, p.pattern, *problem);
    if (p.paired_with) {
      const sr_param_def* partner = config::find_param_def(params, p.paired_with);
      if (!(p.flags & SR_PARAM_NUMBERED) || !partner || !(partner->flags & SR_PARAM_NUMBERED) ||
          partner == &p)
        return fmt::format("class {}: parameter {}: paired_with '{}' is not another numbered family of the table",
                           def.name, p.name, p.paired_with);
    }
    if (p.default_value) {
      if (auto problem = config::check_value(p, p.default_value))
        return fmt::format("class {}: parameter {}: invalid default: {}", def.name, p.name, *problem);
    }
  }
  return {};
}

std::string canonical_path(const PluginClass& plugin) {
  std::string_view name = plugin.def->name;
  std::string_view path = plugin.def->path ? plugin.def->path : "";
  // Only a path that resolves back to this very class: its first component
  // the module's file name, its last the class.
  if (path.starts_with(plugin.module->name + ".") && path.size() > plugin.module->name.size() + name.size() &&
      path.ends_with(fmt::format(".{}", name)))
    return std::string(path);
  return fmt::format("{}.{}", plugin.module->name, name);
}

PluginClass LoadedModule::plugin_class(size_t index) const {
  const LoadedClass& loaded = classes[index];
  // The tables without their end markers.
  auto without_end = [](const auto& table) {
    return std::span(table.data(), table.empty() ? 0 : table.size() - 1);
  };
  return PluginClass{this, &loaded.def, without_end(loaded.params), without_end(loaded.ios)};
}

namespace {

// Reads class number `index` (from 0) of a module that declared ABI
// 1.`minor`, by plugin_abi.h's compatibility rules; an error names the class.
std::variant<LoadedClass, std::string> read_class(const sr_class_def* raw, size_t index, uint32_t minor) {
  if (!raw) return fmt::format("class descriptor #{} is missing", index + 1);
  const abi::ModuleLayout& layout = abi::layout_of_minor(minor);
  if (raw->struct_size < layout.class_def) {
    // Name the class when the module wrote that much of it.
    bool named = raw->struct_size >= SR_END_OF(sr_class_def, name) && raw->name;
    return fmt::format("class {}: class descriptor is {} bytes; ABI {}.{} needs at least {}",
                       named ? std::string(raw->name) : fmt::format("#{}", index + 1), raw->struct_size,
                       SR_ABI_MAJOR, minor, layout.class_def);
  }
  LoadedClass loaded;
  // Only the declared minor's part: a 1.1 module's longer struct must not
  // hand the host a conn_subscribe_ex or check it never promised.
  loaded.def = abi::copy_declared<sr_class_def>(raw, raw->struct_size, layout.class_def);
  std::string name = loaded.def.name && *loaded.def.name ? loaded.def.name : fmt::format("#{}", index + 1);
  if (loaded.def.params) {
    auto params = abi::copy_table(loaded.def.params, layout.param_def, minor, "parameter table",
                                  [](const sr_param_def& p) { return p.name == nullptr; });
    if (auto* problem = std::get_if<std::string>(&params)) return fmt::format("class {}: {}", name, *problem);
    loaded.params = std::move(std::get<std::vector<sr_param_def>>(params));
    loaded.params.push_back(sr_param_def{});
    loaded.def.params = loaded.params.data();
  }
  if (loaded.def.ios) {
    auto ios = abi::copy_table(loaded.def.ios, layout.io_def, minor, "publishes/accepts table",
                               [](const sr_io_def& io) { return io.key == nullptr; });
    if (auto* problem = std::get_if<std::string>(&ios)) return fmt::format("class {}: {}", name, *problem);
    loaded.ios = std::move(std::get<std::vector<sr_io_def>>(ios));
    loaded.ios.push_back(sr_io_def{});
    loaded.def.ios = loaded.ios.data();
  }
  return loaded;
}

}  // namespace

PluginRegistry::PluginRegistry(std::vector<std::string> search_path)
    : search_path_(std::move(search_path)) {}

std::vector<std::string> PluginRegistry::default_search_path(const std::vector<std::string>& plugin_dirs) {
  std::vector<std::string> path = plugin_dirs;
  if (const char* env = std::getenv("SENSOR_REPORTER_PLUGIN_PATH"))
    for (auto& dir : split_trimmed(env, ':'))
      if (!dir.empty()) path.push_back(dir);
  path.emplace_back(SR_PLUGIN_DIR);
  return path;
}

std::variant<const LoadedModule*, PluginError> PluginRegistry::load_module(std::string_view module_name) {
  if (auto it = modules_.find(module_name); it != modules_.end()) return it->second.get();
  if (auto it = failed_.find(module_name); it != failed_.end()) return it->second;
  std::string file = fmt::format("{}.so", module_name);
  for (const auto& dir : search_path_) {
    std::string path = path_in(dir, file);
    if (is_file(path)) return load_file(path, std::string(module_name));
  }
  // Not remembered in failed_: a missing file is not a module that failed
  // to load, and a bare or misplaced class must not list it as one.
  return PluginError{kExUnavailable,
                     fmt::format("cannot find plugin module '{}' ({}); searched: {}", module_name, file,
                                 join(search_path_, ", ")),
                     /*module_missing=*/true};
}

std::variant<const LoadedModule*, PluginError> PluginRegistry::load_file(const std::string& path,
                                                                         const std::string& module_name) {
  auto fail = [&](std::string message) -> std::variant<const LoadedModule*, PluginError> {
    PluginError error{kExUnavailable, std::move(message)};
    failed_.emplace(module_name, error);
    return error;
  };
  dlerror();
  // RTLD_NODELETE: the libraries a module pulls in (libcurl's thirty, with
  // thread-local storage in OpenSSL and GnuTLS) are never unmapped while the
  // process lives. Unmapping them at exit gained nothing and is the likely
  // cause of one LeakSanitizer crash at exit ("Tracer caught signal 11")
  // seen once in the openHAB tests.
  sdk::CHandle<void, dlclose> handle(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE));
  if (!handle) {
    const char* reason = dlerror();
    return fail(fmt::format(
        "cannot load plugin module {}: {} (hint: an undefined symbol or missing library usually "
        "means the module was built against another sensor_reporter or needs a package that is "
        "not installed)",
        path, reason ? reason : "unknown error"));
  }
  auto entry = reinterpret_cast<sr_plugin_entry_fn>(dlsym(handle.get(), SR_PLUGIN_ENTRY_NAME));
  if (!entry)
    return fail(fmt::format("plugin module {} has no entry point '{}' (not a sensor_reporter plugin, "
                            "or built without SR_PLUGIN_MODULE)",
                            path, SR_PLUGIN_ENTRY_NAME));
  const sr_module_descriptor* raw = entry(SR_ABI_MAJOR, SR_ABI_MINOR);
  if (!raw) return fail(fmt::format("plugin module {} returned no descriptor", path));
  // The ABI version is the first thing read: nothing else of the descriptor
  // can be trusted before it, and its minor says how much the module wrote.
  if (raw->abi_major != SR_ABI_MAJOR || raw->abi_minor > SR_ABI_MINOR)
    return fail(
        fmt::format("plugin module {} was built for plugin ABI {}.{}; this sensor_reporter "
                    "provides ABI {}.{}",
                    path, raw->abi_major, raw->abi_minor, SR_ABI_MAJOR, SR_ABI_MINOR));
  const uint32_t minor = raw->abi_minor;
  const abi::ModuleLayout& layout = abi::layout_of_minor(minor);
  if (raw->struct_size < layout.descriptor)
    return fail(fmt::format("plugin module {}: descriptor is {} bytes; ABI {}.{} needs at least {}", path,
                            raw->struct_size, SR_ABI_MAJOR, minor, layout.descriptor));
  auto module = std::make_unique<LoadedModule>();
  module->descriptor = abi::copy_declared<sr_module_descriptor>(raw, raw->struct_size, layout.descriptor);
  const sr_module_descriptor& descriptor = module->descriptor;
  if (!descriptor.module_name || module_name != descriptor.module_name)
    return fail(fmt::format("plugin module {} calls itself '{}'; the file name says '{}'", path,
                            descriptor.module_name ? descriptor.module_name : "", module_name));
  if (descriptor.class_count > 0 && !descriptor.classes)
    return fail(fmt::format("plugin module {} is refused: {} classes but no class table", path,
                            descriptor.class_count));
  for (uint32_t i = 0; i < descriptor.class_count; ++i) {
    auto loaded = read_class(descriptor.classes[i], i, minor);
    if (auto* problem = std::get_if<std::string>(&loaded))
      return fail(fmt::format("plugin module {} is refused: {}", path, *problem));
    module->classes.push_back(std::move(std::get<LoadedClass>(loaded)));
  }
  for (size_t i = 0; i < module->classes.size(); ++i) {
    PluginClass plugin = module->plugin_class(i);
    std::string problem = check_class(*plugin.def, plugin.params);
    if (!problem.empty()) return fail(fmt::format("plugin module {} is refused: {}", path, problem));
    module->class_defs.push_back(plugin.def);
  }
  module->descriptor.classes = module->class_defs.data();
  module->name = module_name;
  module->path = path;
  module->handle = std::move(handle);
  const LoadedModule* result = module.get();
  modules_.emplace(module_name, std::move(module));
  return result;
}

std::variant<ResolvedClass, PluginError> PluginRegistry::resolve(std::string_view class_string) {
  std::string_view text = trim(class_string);
  size_t first_dot = text.find('.');
  if (first_dot != std::string_view::npos) {
    std::string_view module_name = text.substr(0, first_dot);
    std::string_view class_name = text.substr(text.rfind('.') + 1);
    auto loaded = load_module(module_name);
    if (auto* error = std::get_if<PluginError>(&loaded))
      return error->module_missing ? resolve_elsewhere(module_name, class_name, *error) : *error;
    // A module that exists is authoritative: no looking elsewhere when it
    // lacks the class.
    const LoadedModule* module = std::get<const LoadedModule*>(loaded);
    std::vector<std::string> paths, names;
    for (size_t i = 0; i < module->classes.size(); ++i) {
      PluginClass plugin = module->plugin_class(i);
      if (class_name == plugin.def->name) return ResolvedClass{plugin, {}};
      paths.push_back(canonical_path(plugin));
      names.emplace_back(plugin.def->name);
    }
    std::string hint = closest_match(class_name, names);
    return PluginError{kExConfig, fmt::format("module '{}' ({}) has no class '{}'{}; it provides: {}", module_name,
                                              module->path, class_name,
                                              hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint),
                                              join(paths, ", "))};
  }
  // A bare class name: look through every module on the path.
  std::vector<PluginError> broken;
  std::vector<PluginClass> matches = classes_named(text, broken);
  if (matches.size() == 1) return ResolvedClass{matches.front(), {}};
  if (matches.size() > 1)
    return PluginError{
        kExConfig, fmt::format("class '{}' is ambiguous; write one of: {}", text, candidate_list(matches))};
  // The class may live in a module that could not be loaded: then the
  // module, not the configuration, is the problem.
  return PluginError{broken.empty() ? kExConfig : kExUnavailable,
                     fmt::format("unknown class '{}'; {}", text, available_classes(broken))};
}

std::variant<ResolvedClass, PluginError> PluginRegistry::resolve_elsewhere(std::string_view module_name,
                                                                           std::string_view class_name,
                                                                           const PluginError& missing) {
  std::vector<PluginError> broken;
  std::vector<PluginClass> matches = classes_named(class_name, broken);
  if (matches.size() == 1) {
    const PluginClass& found = matches.front();
    return ResolvedClass{found,
                         fmt::format("no plugin module '{}' ({}.so); using {} from {} (write that instead)",
                                     module_name, module_name, canonical_path(found), found.module->path)};
  }
  if (matches.size() > 1)
    return PluginError{missing.exit_code,
                       fmt::format("{}; class '{}' is in more than one module; write one of: {}",
                                   missing.message, class_name, candidate_list(matches)),
                       /*module_missing=*/true};
  return PluginError{missing.exit_code,
                     fmt::format("{}; class '{}' is unknown: no module on the path has it; {}",
                                 missing.message, class_name, available_classes(broken)),
                     /*module_missing=*/true};
}

std::vector<PluginClass> PluginRegistry::classes_named(std::string_view class_name,
                                                       std::vector<PluginError>& broken) {
  broken = load_all();
  std::vector<PluginClass> matches;
  for (const auto& c : classes())
    if (class_name == c.def->name) matches.push_back(c);
  return matches;
}

std::string PluginRegistry::available_classes(const std::vector<PluginError>& broken) const {
  std::vector<std::string> names;
  for (const auto& c : classes()) names.emplace_back(c.def->name);
  std::string text = fmt::format("available classes: {}", names.empty() ? "none" : join(names, ", "));
  if (broken.empty()) return text;
  // Name the modules the class might be in (--list-plugins says why each
  // one failed).
  std::vector<std::string> files;
  for (const auto& [name, error] : failed_) files.push_back(name + ".so");
  return fmt::format("{}; not loadable: {} (see sensor_reporter --list-plugins)", text, join(files, ", "));
}

std::vector<PluginError> PluginRegistry::load_all() {
  std::vector<PluginError> errors;
  std::set<std::string> seen;
  for (const auto& dir : search_path_) {
    for (const auto& name : list_modules(dir)) {
      if (!seen.insert(name).second) continue;  // an earlier directory wins
      if (modules_.count(name)) continue;
      if (auto it = failed_.find(name); it != failed_.end()) {
        errors.push_back(it->second);
        continue;
      }
      auto loaded = load_file(path_in(dir, name + ".so"), name);
      if (auto* error = std::get_if<PluginError>(&loaded)) errors.push_back(*error);
    }
  }
  return errors;
}

std::vector<PluginClass> PluginRegistry::classes() const {
  std::vector<PluginClass> all;
  for (const auto& [name, module] : modules_)
    for (size_t i = 0; i < module->classes.size(); ++i) all.push_back(module->plugin_class(i));
  std::sort(all.begin(), all.end(),
            [](const PluginClass& a, const PluginClass& b) { return std::string_view(a.def->name) < b.def->name; });
  return all;
}

}  // namespace sr
