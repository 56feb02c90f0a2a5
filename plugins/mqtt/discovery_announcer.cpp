#include "discovery_announcer.hpp"

#include "json_field.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>

namespace sr::mqtt::discovery {
namespace {

using namespace std::chrono_literals;

constexpr auto kReadBackLimit = 5s;
// HA subscribes to a state topic only once it has processed the config: a
// state sent at once can be lost (home-assistant/core#59647).
constexpr auto kRefreshAfterAnnounce = 1500ms;
constexpr int kBirthDelayMaxMs = 5000;

bool same_messages(const std::vector<Message>& a, const std::vector<Message>& b) { return a == b; }

const Message* find_topic(const std::vector<Message>& messages, const std::string& topic) {
  for (const Message& m : messages)
    if (m.topic == topic) return &m;
  return nullptr;
}

}  // namespace

Announcer::Announcer(sdk::Host host, Settings settings, Link link)
    : host_(host),
      settings_(std::move(settings)),
      link_(std::move(link)),
      sync_topic_(settings_.device.root_topic + "/discovery/sync"),
      random_(std::random_device{}()) {
  ha_.prefix = settings_.prefix;
  ha_.mode = settings_.mode;
  homie_.version = settings_.homie_version;
  homie_.domain = settings_.prefix;
  // The device exists from the start (Homie's Will needs its base topic);
  // its entities come with the catalogue.
  device_.id = sanitize_id(settings_.device.id);
  device_.name = settings_.device.name;
  device_.sw_version = settings_.device.sw_version;
  device_.availability_topic = settings_.device.root_topic + "/status";
}

Message Announcer::will() const {
  if (settings_.format != Format::Homie) return {};
  return Message{homie_state_topic(device_, homie_), "lost", true, 1};
}

std::vector<Message> Announcer::current_config() const {
  switch (settings_.format) {
    case Format::HomeAssistant: return ha_config(device_, ha_);
    case Format::Homie: return homie_announce(device_, homie_);
    case Format::None: break;
  }
  return {};
}

void Announcer::set_catalogue(const std::vector<sdk::CatalogueEntry>& catalogue) {
  if (!active()) return;
  BuildReport report;
  Device device = build_device(settings_.device, catalogue, report, tree_devices_);
  for (const std::string& w : report.warnings) host_.warning("discovery: {}", w);
  for (const std::string& n : report.notes) host_.info("discovery: {}", n);
  const bool first = !have_device_;
  catalogue_ = catalogue;
  device_ = std::move(device);
  have_device_ = true;
  // A section no longer a tree (removed, or Discovery = no) takes its
  // devices along: the announcement below removes them, and a later reload
  // bringing the section back does not revive them before they publish.
  std::erase_if(tree_devices_, [&](const auto& section_devices) {
    return std::none_of(device_.trees.begin(), device_.trees.end(),
                        [&](const Tree& tree) { return tree.section == section_devices.first; });
  });
  if (settings_.format == Format::Homie) routes_ = homie_routes(device_, homie_);
  host_.debug("discovery: {} entities for device '{}'", device_.entities.size(), device_.id);
  if (!online_ || !read_back_done_) return;  // announced when the read-back ends
  if (first)
    announce_all(published_);
  else
    announce_changes(published_);
}

// The same catalogue with the tree devices known now. Its warnings and
// notes were logged when the catalogue came.
void Announcer::rebuild_device() {
  BuildReport already_logged;
  device_ = build_device(settings_.device, catalogue_, already_logged, tree_devices_);
  if (settings_.format == Format::Homie) routes_ = homie_routes(device_, homie_);
}

bool Announcer::knows(const TreeDeviceRef& ref) const {
  const auto section = tree_devices_.find(ref.section);
  return section != tree_devices_.end() && section->second.contains(ref.device);
}

// True when one of `devices` was not known yet (the device is rebuilt).
bool Announcer::learn_tree_devices(const std::vector<TreeDeviceRef>& devices) {
  bool added = false;
  for (const TreeDeviceRef& ref : devices)
    added = tree_devices_[ref.section].insert(ref.device).second || added;
  if (added) rebuild_device();
  return added;
}

void Announcer::add_tree_device(const TreeDeviceRef& ref) {
  if (!learn_tree_devices({ref})) return;
  host_.info("discovery: [{}] device {} appeared: its entities are announced", ref.section, ref.device);
  // Offline, or while reading back, the next announcement carries it.
  if (online_ && read_back_done_) announce_changes(published_);
}

void Announcer::connected() {
  if (!active()) return;
  online_ = true;
  if (settings_.format == Format::HomeAssistant) link_.subscribe(settings_.birth_topic);
  if (!read_back_done_) {
    start_read_back();
    return;
  }
  if (!have_device_) return;
  if (settings_.format == Format::Homie) {
    announce_homie(published_);
    return;
  }
  // The broker may have lost its retained messages with a restart: announce
  // again whatever it holds.
  announce_all(published_);
}

void Announcer::disconnected() {
  online_ = false;
  birth_delay_.cancel();
  refresh_delay_.cancel();
  read_back_limit_.cancel();
  if (reading_back_) {
    // The next connection starts the read-back again from nothing.
    reading_back_ = false;
    found_.clear();
  }
}

void Announcer::start_read_back() {
  reading_back_ = true;
  found_.clear();
  read_back_filters_ = settings_.format == Format::HomeAssistant
                           ? ha_owned_filters(device_, ha_)
                           : std::vector<std::string>{homie_base(device_, homie_) + "/#"};
  for (const std::string& filter : read_back_filters_) link_.subscribe(filter);
  link_.subscribe(sync_topic_);
  link_.send(Message{sync_topic_, device_.id, false, 1});
  read_back_limit_ = host_.add_timer(kReadBackLimit, std::chrono::nanoseconds(0), [this] {
    host_.warning("discovery: the broker did not return {} within {} s; announcing without reading back",
                  sync_topic_, std::chrono::duration_cast<std::chrono::seconds>(kReadBackLimit).count());
    finish_read_back();
  });
}

void Announcer::finish_read_back() {
  if (!reading_back_) return;
  reading_back_ = false;
  read_back_done_ = true;
  read_back_limit_.cancel();
  for (const std::string& filter : read_back_filters_) link_.unsubscribe(filter);
  link_.unsubscribe(sync_topic_);
  host_.debug("discovery: {} retained message(s) of ours found on the broker", found_.size());
  if (!have_device_) return;  // set_catalogue announces
  const std::vector<TreeDeviceRef> announced = settings_.format == Format::Homie
                                                   ? homie_tree_devices(found_, device_, homie_)
                                                   : ha_tree_devices(found_, device_, ha_);
  if (learn_tree_devices(announced))
    host_.info("discovery: {} device(s) of tree sections found announced on the broker: kept",
               announced.size());
  if (settings_.format == Format::Homie)
    announce_homie(found_);
  else
    announce_all(found_);
  found_.clear();
}

bool Announcer::on_message(const std::string& topic, std::string_view payload, bool retained) {
  if (!active()) return false;
  if (topic == sync_topic_) {
    if (reading_back_ && payload == device_.id) finish_read_back();
    return true;
  }
  if (reading_back_ && retained) {
    const bool ours = settings_.format == Format::HomeAssistant
                          ? ha_owns_topic(device_, ha_, topic)
                          : topic.rfind(homie_base(device_, homie_) + "/", 0) == 0;
    if (ours) {
      found_.push_back(Message{topic, std::string(payload), true, 1});
      return true;
    }
  }
  if (settings_.format == Format::HomeAssistant && topic == settings_.birth_topic) {
    if (payload != "online") return true;  // HA going away changes nothing here
    const int delay_ms = std::uniform_int_distribution<int>(0, kBirthDelayMaxMs)(random_);
    host_.info("discovery: Home Assistant started; announcing again in {:.1f} s", delay_ms / 1000.0);
    birth_delay_ = host_.add_timer(std::chrono::milliseconds(delay_ms), std::chrono::nanoseconds(0), [this] {
      // During a read-back its end announces.
      if (online_ && have_device_ && !reading_back_) announce_again();
    });
    return true;
  }
  if (settings_.format == Format::Homie) {
    for (const HomieRoute& route : routes_) {
      if (route.set_topic.empty() || route.set_topic != topic) continue;
      const std::string prefix = settings_.device.root_topic + "/";
      if (route.command_topic == settings_.device.root_topic + "/refresh") {
        host_.info("refresh requested through {}", topic);
        link_.refresh();
      } else if (route.command_topic.rfind(prefix, 0) == 0) {
        link_.deliver(route.command_topic.substr(prefix.size()), payload);
      }
      return true;
    }
  }
  return false;
}

void Announcer::published(const std::string& topic, std::string_view payload) {
  if (!active()) return;
  if (const std::optional<TreeDeviceRef> ref = tree_device_of(device_, topic); ref && !knows(*ref))
    add_tree_device(*ref);
  if (settings_.format != Format::Homie || !online_) return;
  // Homie property values are bare (its convention): an envelope's value.
  for (const HomieRoute& route : routes_)
    if (!route.state_topic.empty() && route.state_topic == topic)
      link_.send(Message{route.property_topic,
                         homie_value(route.json ? envelope_value(payload) : std::string(payload), homie_),
                         route.retained, 1});
}

std::vector<Message> Announcer::farewell() const {
  if (settings_.format != Format::Homie) return {};
  return {Message{homie_state_topic(device_, homie_), "disconnected", true, 1}};
}

// Every config message, after the removals of what `before` (read back, or
// last sent) has and the configuration no longer does.
void Announcer::announce_all(const std::vector<Message>& before) {
  const std::vector<Message> config = current_config();
  for (const Message& m : ha_cleanup(before, config, device_, ha_)) link_.send(m);
  published_ = config;
  for (const Message& m : published_) link_.send(m);
  log_announced("");
  schedule_refresh();
}

// The last announcement again, as it was sent: while online with the
// read-back done, set_catalogue announces every change at once, so it is
// the current configuration (and HA's birth costs no rebuilding).
void Announcer::announce_again() {
  if (published_.empty()) {
    announce_all(published_);
    return;
  }
  for (const Message& m : published_) link_.send(m);
  log_announced(" again");
  schedule_refresh();
}

void Announcer::log_announced(std::string_view again) const {
  host_.info("discovery: announced {} entit{} to {}{} ({} message(s))", device_.entities.size(),
             device_.entities.size() == 1 ? "y" : "ies", settings_.prefix, again, published_.size());
}

// `before`: what the broker holds (read back) or what we last sent. Sends
// the removals, then each config message whose payload differs.
void Announcer::announce_changes(const std::vector<Message>& before) {
  if (settings_.format == Format::Homie) {
    announce_homie(before);
    return;
  }
  const std::vector<Message> config = current_config();
  if (same_messages(config, before)) {
    host_.debug("discovery: nothing changed");
    return;
  }
  for (const Message& m : ha_cleanup(before, config, device_, ha_)) link_.send(m);
  unsigned changed = 0;
  for (const Message& m : config) {
    const Message* old = find_topic(before, m.topic);
    if (old && old->payload == m.payload) continue;
    link_.send(m);
    ++changed;
  }
  published_ = config;
  if (changed) {
    host_.info("discovery: {} config message(s) changed", changed);
    schedule_refresh();
  }
}

void Announcer::announce_homie(const std::vector<Message>& found) {
  if (homie_.version >= 5)
    homie_.description_version = homie_description_version(found, device_, homie_, static_cast<std::uint64_t>(std::time(nullptr)));
  const std::vector<Message> announce = current_config();
  for (const Message& m : announce) link_.send(m);  // starts with $state = init
  for (const Message& m : homie_cleanup(found, announce, device_, homie_)) link_.send(m);
  subscribe_homie_sets();
  link_.send(Message{homie_state_topic(device_, homie_), "ready", true, 1});
  published_ = announce;
  host_.info("discovery: Homie {} device {} with {} propert{}", settings_.homie_version, homie_base(device_, homie_),
             routes_.size(), routes_.size() == 1 ? "y" : "ies");
  schedule_refresh();
}

void Announcer::subscribe_homie_sets() {
  std::vector<std::string> wanted;
  for (const HomieRoute& route : routes_)
    if (!route.set_topic.empty()) wanted.push_back(route.set_topic);
  for (const std::string& old : set_filters_)
    if (std::find(wanted.begin(), wanted.end(), old) == wanted.end()) link_.unsubscribe(old);
  // Subscribing again on a connect is what renews them on a clean session.
  for (const std::string& topic : wanted) link_.subscribe(topic);
  set_filters_ = std::move(wanted);
}

void Announcer::schedule_refresh() {
  refresh_delay_ = host_.add_timer(kRefreshAfterAnnounce, std::chrono::nanoseconds(0), [this] {
    if (online_) link_.refresh();
  });
}

}  // namespace sr::mqtt::discovery
