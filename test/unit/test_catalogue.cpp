// Unit tests for a connection's catalogue (src/host/catalogue.cpp): the
// sections that use a connection, in file order, with their outputs and
// inputs resolved against their parameters (unit and values chosen by a
// parameter, numbered families) and secrets masked; and the C view a
// connection receives through sr_host_api.catalogue.
#include "config/param_check.h"
#include "host/catalogue.h"

#include <sensor_reporter/sdk.hpp>

#include <doctest/doctest.h>

#include "support/doctest_vector.h"

#include <optional>
#include <string>
#include <vector>

namespace {

// A made-up temperature sensor: TempUnit chooses the unit, a numbered
// Destination family, a secret Token.
constexpr sr_param_def kThermoParams[] = {sr::sdk::string_param("Destination").numbered().required(),
                                          sr::sdk::choice_param("TempUnit", "C|F").fallback("C"),
                                          sr::sdk::string_param("Token").secret(), sr::sdk::end_params};
constexpr sr_io_def kThermoIos[] = {sr::sdk::publishes("Destination", SR_VALUE_NUMBER, "temperature", "°C")
                                        .unit_from("TempUnit", "C=°C|F=°F"),
                                    sr::sdk::end_ios};

// A made-up switch: Values lists the two values it accepts.
constexpr sr_param_def kSwitchParams[] = {sr::sdk::string_param("CommandSrc").required(),
                                          sr::sdk::string_param("Values"), sr::sdk::string_param("StateDest"),
                                          sr::sdk::end_params};
constexpr sr_io_def kSwitchIos[] = {
    sr::sdk::accepts("CommandSrc", SR_VALUE_BINARY, "switch", "OFF,ON").values_from("Values"),
    sr::sdk::publishes("StateDest", SR_VALUE_BINARY, "switch", nullptr, "OFF,ON").values_from("Values"),
    sr::sdk::end_ios};

sr_class_def class_def(sr_kind kind, const char* name, const sr_param_def* params, const sr_io_def* ios) {
  sr_class_def def{};
  def.struct_size = sizeof def;
  def.kind = kind;
  def.name = name;
  def.path = name;
  def.summary = "made up";
  def.params = params;
  def.ios = ios;
  return def;
}

const sr_class_def kThermo = class_def(SR_KIND_SENSOR, "Thermo", kThermoParams, kThermoIos);
const sr_class_def kSwitch = class_def(SR_KIND_ACTUATOR, "Switch", kSwitchParams, kSwitchIos);

sr::config::ComponentPlan plan(const sr_class_def& def, std::span<const sr_param_def> params,
                               std::span<const sr_io_def> ios, std::string section, int line,
                               sr::config::ParamList values,
                               std::vector<std::string> connections = {"mqtt"}) {
  sr::config::ComponentPlan p;
  p.section = std::move(section);
  p.line = line;
  p.kind = static_cast<sr_kind>(def.kind);
  p.plugin.def = &def;
  p.plugin.params = params;
  p.plugin.ios = ios;
  p.params = std::move(values);
  p.connections = std::move(connections);
  return p;
}

template <typename T, size_t N>
std::span<const T> without_end(const T (&table)[N]) {
  return std::span<const T>(table, N - 1);
}

// The connection whose catalogue is built: only its Name and Format matter.
sr::config::ComponentPlan connection(std::string name = "mqtt",
                                     std::optional<sr::config::PayloadFormat> format = std::nullopt) {
  sr::config::ComponentPlan p;
  p.kind = SR_KIND_CONNECTION;
  p.name = std::move(name);
  p.format = format;
  return p;
}

}  // namespace

TEST_CASE("choose_unit picks the unit a parameter names, case-insensitively, else the fallback") {
  CHECK(sr::choose_unit("C=°C|F=°F", "f", "°C") == "°F");
  CHECK(sr::choose_unit("C=°C|F=°F", " C ", "x") == "°C");
  CHECK(sr::choose_unit("C=°C|F=°F", "K", "°C") == "°C");
  CHECK(sr::choose_unit("", "C", "") == "");
}

TEST_CASE("the catalogue lists the sections using a connection, in file order, resolved and masked") {
  auto thermo =
      plan(kThermo, without_end(kThermoParams), without_end(kThermoIos), "Sensor_Temp", 20,
           {{"Destination2", "temp/2"}, {"Destination1", "temp/1"}, {"TempUnit", "F"}, {"Token", "hunter2"}});
  auto light = plan(kSwitch, without_end(kSwitchParams), without_end(kSwitchIos), "Actuator_Light", 10,
                    {{"CommandSrc", "light/cmd"}, {"Values", "CLOSED,OPEN"}});
  auto elsewhere = plan(kSwitch, without_end(kSwitchParams), without_end(kSwitchIos), "Actuator_Other", 5,
                        {{"CommandSrc", "other/cmd"}}, {"another"});
  auto sections = sr::build_catalogue({&thermo, &light, &elsewhere}, connection());

  REQUIRE(sections.size() == 2);
  // File order (line 10 before line 20), not creation order.
  CHECK(sections[0].section == "Actuator_Light");
  CHECK(sections[1].section == "Sensor_Temp");

  // Values from the parameter; StateDest is not set, so it is not listed.
  REQUIRE(sections[0].ios.size() == 1);
  CHECK(sections[0].ios[0].direction == SR_IO_ACCEPTS);
  CHECK(sections[0].ios[0].key == "CommandSrc");
  CHECK(sections[0].ios[0].topic == "light/cmd");
  CHECK(sections[0].ios[0].values == "CLOSED,OPEN");

  // Every numbered Destination, in number order, in the unit TempUnit chose.
  const auto& temp = sections[1];
  CHECK(temp.kind == SR_KIND_SENSOR);
  CHECK(temp.class_name == "Thermo");
  REQUIRE(temp.ios.size() == 2);
  CHECK(temp.ios[0].key == "Destination1");
  CHECK(temp.ios[0].topic == "temp/1");
  CHECK(temp.ios[1].key == "Destination2");
  CHECK(temp.ios[1].topic == "temp/2");
  CHECK(temp.ios[0].unit == "°F");
  CHECK(temp.ios[0].measures == "temperature");
  // The secret is masked; the rest as set.
  bool saw_token = false;
  for (const auto& [key, value] : temp.params) {
    CHECK(value != "hunter2");
    if (key == "Token") {
      saw_token = true;
      CHECK(value == sr::config::kMaskedValue);
    }
    if (key == "TempUnit") CHECK(value == "F");
  }
  CHECK(saw_token);
}

TEST_CASE("a section without the unit parameter gets the class's unit; without Values, the class's values") {
  auto thermo = plan(kThermo, without_end(kThermoParams), without_end(kThermoIos), "Sensor_Temp", 1,
                     {{"Destination1", "t"}});
  auto light = plan(kSwitch, without_end(kSwitchParams), without_end(kSwitchIos), "Actuator_Light", 2,
                    {{"CommandSrc", "c"}, {"StateDest", "s"}});
  auto sections = sr::build_catalogue({&thermo, &light}, connection());
  REQUIRE(sections.size() == 2);
  REQUIRE(sections[0].ios.size() == 1);
  CHECK(sections[0].ios[0].unit == "°C");
  REQUIRE(sections[1].ios.size() == 2);
  CHECK(sections[1].ios[0].values == "OFF,ON");
  CHECK(sections[1].ios[1].key == "StateDest");
  CHECK(sections[1].ios[1].direction == SR_IO_PUBLISHES);
}

TEST_CASE("emit_catalogue hands a connection C views that the SDK reads back unchanged") {
  auto thermo = plan(kThermo, without_end(kThermoParams), without_end(kThermoIos), "Sensor_Temp", 1,
                     {{"Destination1", "t"}, {"Token", "secret"}});
  auto sections = sr::build_catalogue({&thermo}, connection());
  struct Seen {
    std::vector<std::string> lines;
  } seen;
  size_t n = sr::emit_catalogue(
      sections,
      [](void* user, const sr_catalogue_entry* e) {
        auto* s = static_cast<Seen*>(user);
        REQUIRE(e->struct_size == sizeof(sr_catalogue_entry));
        s->lines.push_back(std::string(e->section) + " " + e->class_name);
        for (size_t i = 0; i < e->io_count; ++i)
          s->lines.push_back(std::string(e->ios[i].key) + "=" + e->ios[i].topic + " " +
                             (e->ios[i].unit ? e->ios[i].unit : "-") + " " +
                             (e->ios[i].values ? e->ios[i].values : "-"));
        for (size_t i = 0; i < e->param_count; ++i)
          s->lines.push_back(std::string(e->params[i].key) + ":" + e->params[i].value);
      },
      &seen);
  CHECK(n == 1);
  CHECK(seen.lines == std::vector<std::string>{"Sensor_Temp Thermo", "Destination1=t °C -", "Destination1:t",
                                               "Token:********", "Format:raw"});
}

namespace {

std::string format_in(const sr::CatalogueSection& section) {
  std::string found = "<none>";
  for (const auto& [key, value] : section.params)
    if (key == "Format") found = found == "<none>" ? value : "<twice>";
  return found;
}

}  // namespace

TEST_CASE("the catalogue gives each section the Format that applies on its connection, set or not") {
  using sr::config::PayloadFormat;
  auto own_json = plan(kThermo, without_end(kThermoParams), without_end(kThermoIos), "Sensor_Json", 1,
                       {{"Destination1", "a"}, {"Format", "JSON"}});
  own_json.format = PayloadFormat::Json;
  auto own_raw = plan(kThermo, without_end(kThermoParams), without_end(kThermoIos), "Sensor_Raw", 2,
                      {{"Destination1", "b"}, {"Format", "raw"}});
  own_raw.format = PayloadFormat::Raw;
  auto unset = plan(kThermo, without_end(kThermoParams), without_end(kThermoIos), "Sensor_Unset", 3,
                    {{"Destination1", "c"}});

  auto on_raw = sr::build_catalogue({&own_json, &own_raw, &unset}, connection("mqtt", PayloadFormat::Raw));
  REQUIRE(on_raw.size() == 3);
  CHECK(format_in(on_raw[0]) == "json");  // the section's own, in the table's spelling
  CHECK(format_in(on_raw[1]) == "raw");
  CHECK(format_in(on_raw[2]) == "raw");

  auto on_json = sr::build_catalogue({&own_json, &own_raw, &unset}, connection("mqtt", PayloadFormat::Json));
  REQUIRE(on_json.size() == 3);
  CHECK(format_in(on_json[0]) == "json");
  CHECK(format_in(on_json[1]) == "raw");
  CHECK(format_in(on_json[2]) == "json");  // the connection's

  auto raw_only = connection("mqtt", PayloadFormat::Raw);
  raw_only.takes_json = false;
  auto on_raw_only = sr::build_catalogue({&own_json}, raw_only);
  REQUIRE(on_raw_only.size() == 1);
  CHECK(format_in(on_raw_only[0]) == "raw");
}

TEST_CASE(
    "output_units: each destination with the unit its section chose; outputs without one are left out") {
  auto thermo = plan(kThermo, without_end(kThermoParams), without_end(kThermoIos), "Sensor_Temp", 1,
                     {{"Destination1", "t/1"}, {"Destination2", "t/2"}, {"TempUnit", "f"}});
  CHECK(sr::output_units(thermo) ==
        std::vector<std::pair<std::string, std::string>>{{"t/1", "°F"}, {"t/2", "°F"}});
  auto light = plan(kSwitch, without_end(kSwitchParams), without_end(kSwitchIos), "Actuator_Light", 2,
                    {{"CommandSrc", "c"}, {"StateDest", "s"}});
  CHECK(sr::output_units(light).empty());
}
