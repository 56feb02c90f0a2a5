#include "host/describe.h"

#include "config/param_check.h"
#include "config/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <span>
#include <string>
#include <vector>

namespace sr {
namespace {

std::string describe_type(const sr_param_def& p) {
  std::string type(config::type_name(p.type));
  if (p.type == SR_PARAM_CHOICE) type = p.choices;
  if (p.flags & SR_PARAM_HAS_MIN && p.flags & SR_PARAM_HAS_MAX)
    type += fmt::format(" {}..{}", p.min, p.max);
  else if (p.flags & SR_PARAM_HAS_MIN)
    type += fmt::format(" >= {}", p.min);
  else if (p.flags & SR_PARAM_HAS_MAX)
    type += fmt::format(" <= {}", p.max);
  return type;
}

// The parameter's name as a section writes it: "Address<n>" for a family.
std::string describe_name(const sr_param_def& p) {
  return p.flags & SR_PARAM_NUMBERED ? fmt::format("{}<n>", p.name) : std::string(p.name);
}

// The ABI 1.2 constraints in words, "" when there are none.
std::string describe_constraints(const sr_param_def& p) {
  std::vector<std::string> notes;
  if (p.flags & SR_PARAM_NUMBERED)
    notes.push_back(fmt::format("numbered {0}1, {0}2, ... without a gap, bare {0} = {0}1{1}", p.name,
                                p.paired_with ? fmt::format(", each with its {}<n>", p.paired_with) : ""));
  if (p.pattern) notes.push_back(fmt::format("must be {}", p.pattern_text ? p.pattern_text : p.pattern));
  if (p.flags & SR_PARAM_NOT_EMPTY) notes.push_back("not empty");
  if (p.flags & SR_PARAM_SECRET) notes.push_back(fmt::format("secret: shown as {}", config::kMaskedValue));
  if (p.flags & SR_PARAM_SECRET_FILE) notes.push_back("holds a secret: keep it unreadable to other users");
  std::string out;
  for (const auto& note : notes) out += (out.empty() ? "" : "; ") + note;
  return out;
}

std::string default_shown(const sr_param_def& p) {
  if (!p.default_value) return "-";
  if (!*p.default_value) return "\"\"";
  return config::masked_value(p, p.default_value);
}

// True when `known` has a parameter named like `p`: a common key the class
// declares itself.
bool shadowed(const sr_param_def& p, std::span<const sr_param_def> known) {
  return std::any_of(known.begin(), known.end(),
                     [&](const sr_param_def& k) { return std::string_view(k.name) == p.name; });
}

void append_rows(std::string& out, std::span<const sr_param_def> params,
                 std::span<const sr_param_def> skip_known, size_t type_width) {
  for (const sr_param_def& p : params) {
    if (shadowed(p, skip_known)) continue;
    std::string constraints = describe_constraints(p);
    std::string help = p.help ? p.help : "";
    if (!constraints.empty()) help += (help.empty() ? "(" : " (") + constraints + ")";
    out += fmt::format("  {:<22} {:<{}} {:<9} {:<12} {}\n", describe_name(p), describe_type(p), type_width,
                       p.flags & SR_PARAM_REQUIRED ? "required" : "optional", default_shown(p), help);
  }
}

// Text for roff: backslashes escaped, a leading dot or quote neutralised.
std::string roff(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

void append_man_params(std::string& out, std::span<const sr_param_def> params) {
  for (const sr_param_def& p : params) {
    out += fmt::format(".TP\n.B {}\n{}, {}{}.", roff(describe_name(p)), roff(describe_type(p)),
                       p.flags & SR_PARAM_REQUIRED ? "required" : "optional",
                       p.default_value ? fmt::format(", default {}", roff(default_shown(p))) : "");
    if (p.help) out += fmt::format(" {}{}", roff(p.help), std::string_view(p.help).ends_with('.') ? "" : ".");
    if (std::string constraints = describe_constraints(p); !constraints.empty())
      out += fmt::format(" {}{}.", char(std::toupper(static_cast<unsigned char>(constraints[0]))),
                         roff(constraints.substr(1)));
    out += "\n";
  }
}

}  // namespace

std::string format_man_classes(const std::vector<PluginClass>& classes) {
  std::string out;
  for (const auto& c : classes) {
    const sr_class_def& def = *c.def;
    out += fmt::format(".SS {} ({})\n{}.\n", roff(def.path ? def.path : def.name), kind_name(def.kind),
                       roff(def.summary ? def.summary : ""));
    append_man_params(out, c.params);
    for (const sr_io_def& io : c.ios) {
      out += fmt::format(".TP\n{} \\fB{}\\fP\n{}{}{}\n",
                         io.direction == SR_IO_PUBLISHES ? "Publishes to" : "Accepts from", roff(io.key),
                         roff(io.measures ? io.measures : ""),
                         io.unit ? fmt::format(" [{}]", roff(io.unit)) : "",
                         io.values ? fmt::format(", values {}", roff(io.values)) : "");
      // Appended after the line above so that older pages keep their text.
      if (io.unit_param || io.values_param) {
        if (io.unit_param)
          out += fmt::format("Unit chosen by \\fB{}\\fP: {}.\n", roff(io.unit_param),
                             roff(io.unit_choices ? io.unit_choices : ""));
        if (io.values_param) out += fmt::format("Values from \\fB{}\\fP when set.\n", roff(io.values_param));
      }
    }
  }
  for (auto kind : {SR_KIND_CONNECTION, SR_KIND_SENSOR, SR_KIND_ACTUATOR}) {
    out += fmt::format(".SS Keys of every {} section\n", kind_name(kind));
    append_man_params(out, config::common_params(kind));
  }
  return out;
}

std::string format_class_list(const std::vector<PluginClass>& classes) {
  std::string out = fmt::format("{:<20} {:<11} {:<40} {}\n", "CLASS", "KIND", "PATH", "SUMMARY");
  for (const auto& c : classes)
    out += fmt::format("{:<20} {:<11} {:<40} {}\n", c.def->name, kind_name(c.def->kind),
                       c.def->path ? c.def->path : "", c.def->summary ? c.def->summary : "");
  return out;
}

std::string format_class_description(const PluginClass& plugin) {
  const sr_class_def& def = *plugin.def;
  std::string out = fmt::format("{} ({}) — {}\n", def.path ? def.path : def.name, kind_name(def.kind),
                                def.summary ? def.summary : "");
  out += fmt::format("module {} {} ({})\n\n", plugin.module->name, plugin.module->descriptor.module_version,
                     plugin.module->path);
  std::span<const sr_param_def> common = config::common_params(static_cast<sr_kind>(def.kind));
  size_t type_width = 20;
  for (auto table : {plugin.params, common})
    for (const sr_param_def& p : table) type_width = std::max(type_width, describe_type(p).size());
  out += fmt::format("  {:<22} {:<{}} {:<9} {:<12} {}\n", "PARAMETER", "TYPE", type_width, "", "DEFAULT",
                     "HELP");
  append_rows(out, plugin.params, {}, type_width);
  out += "common to every section of this kind:\n";
  append_rows(out, common, plugin.params, type_width);
  if (!plugin.ios.empty()) {
    out += "\nmessages:\n";
    for (const sr_io_def& io : plugin.ios) {
      out += fmt::format("  {:<9} {:<22} {}{}{}\n", io.direction == SR_IO_PUBLISHES ? "publishes" : "accepts",
                         io.key, io.measures ? io.measures : "", io.unit ? fmt::format(" [{}]", io.unit) : "",
                         io.values ? fmt::format(" values {}", io.values) : "");
      if (io.unit_param)
        out += fmt::format("  {:<9} {:<22} unit chosen by {}: {}\n", "", "", io.unit_param,
                           io.unit_choices ? io.unit_choices : "");
      if (io.values_param)
        out += fmt::format("  {:<9} {:<22} values from {} when set\n", "", "", io.values_param);
    }
  }
  return out;
}

}  // namespace sr
