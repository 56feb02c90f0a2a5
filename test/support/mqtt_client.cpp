#include "support/mqtt_client.h"

#include <algorithm>
#include <stdexcept>

namespace sr::test {

MqttClient::MqttClient(int port, ClientOptions options) {
  static const int init = (mosquitto_lib_init(), 0);
  (void)init;
  mosq_ = mosquitto_new(options.id.empty() ? nullptr : options.id.c_str(), !options.persistent, this);
  if (!mosq_) throw std::runtime_error("mosquitto_new failed");
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION,
                       options.version == 5 ? MQTT_PROTOCOL_V5 : options.version == 3 ? MQTT_PROTOCOL_V31
                                                                                      : MQTT_PROTOCOL_V311);
  if (!options.user.empty())
    mosquitto_username_pw_set(mosq_, options.user.c_str(), options.password.c_str());
  if (!options.ca_file.empty())
    mosquitto_tls_set(mosq_, options.ca_file.c_str(), nullptr,
                      options.cert_file.empty() ? nullptr : options.cert_file.c_str(),
                      options.key_file.empty() ? nullptr : options.key_file.c_str(), nullptr);
  mosquitto_reconnect_delay_set(mosq_, 1, 1, false);
  mosquitto_connect_callback_set(mosq_, [](mosquitto* m, void* self, int rc) {
    auto* c = static_cast<MqttClient*>(self);
    std::lock_guard lock(c->mutex_);
    c->connected_ = rc == 0;
    c->connack_ = rc;
    c->answered_ = true;
    if (rc == 0)
      for (const auto& [filter, qos] : c->filters_) mosquitto_subscribe(m, nullptr, filter.c_str(), qos);
    c->changed_.notify_all();
  });
  mosquitto_disconnect_callback_set(mosq_, [](mosquitto*, void* self, int) {
    auto* c = static_cast<MqttClient*>(self);
    std::lock_guard lock(c->mutex_);
    c->connected_ = false;
    c->answered_ = true;
    c->changed_.notify_all();
  });
  mosquitto_publish_callback_set(mosq_, [](mosquitto*, void* self, int mid) {
    auto* c = static_cast<MqttClient*>(self);
    std::lock_guard lock(c->mutex_);
    c->published_mids_.push_back(mid);
    c->changed_.notify_all();
  });
  mosquitto_subscribe_callback_set(mosq_, [](mosquitto*, void* self, int mid, int, const int*) {
    auto* c = static_cast<MqttClient*>(self);
    std::lock_guard lock(c->mutex_);
    c->acked_mids_.push_back(mid);
    c->changed_.notify_all();
  });
  mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message* m) {
    auto* c = static_cast<MqttClient*>(self);
    std::lock_guard lock(c->mutex_);
    c->received_.push_back(Received{m->topic,
                                    std::string(static_cast<const char*>(m->payload),
                                                static_cast<size_t>(m->payloadlen > 0 ? m->payloadlen : 0)),
                                    m->qos, m->retain, std::chrono::steady_clock::now()});
    c->changed_.notify_all();
  });
  mosquitto_connect_async(mosq_, options.host.c_str(), port, 60);
  mosquitto_loop_start(mosq_);
}

MqttClient::~MqttClient() {
  mosquitto_disconnect(mosq_);
  mosquitto_loop_stop(mosq_, true);
  mosquitto_destroy(mosq_);
}

bool MqttClient::wait_connected(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return connected_; });
}

bool MqttClient::subscribe(const std::string& filter, int qos, std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(mutex_);
    filters_.emplace_back(filter, qos);
  }
  int mid = 0;
  if (mosquitto_subscribe(mosq_, &mid, filter.c_str(), qos) != MOSQ_ERR_SUCCESS) return false;
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    return std::find(acked_mids_.begin(), acked_mids_.end(), mid) != acked_mids_.end();
  });
}

bool MqttClient::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
  return mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos,
                           retain) == MOSQ_ERR_SUCCESS;
}

bool MqttClient::publish_acked(const std::string& topic, const std::string& payload, bool retain,
                               std::chrono::milliseconds timeout) {
  int mid = 0;
  if (mosquitto_publish(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, retain) !=
      MOSQ_ERR_SUCCESS)
    return false;
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    return std::find(published_mids_.begin(), published_mids_.end(), mid) != published_mids_.end();
  });
}

int MqttClient::last_connack() const {
  std::lock_guard lock(mutex_);
  return connack_;
}

bool MqttClient::wait_answered(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return answered_; });
}

std::vector<Received> MqttClient::messages() const {
  std::lock_guard lock(mutex_);
  return received_;
}

std::vector<Received> MqttClient::messages(const std::string& topic) const {
  std::vector<Received> out;
  for (auto& m : messages())
    if (m.topic == topic) out.push_back(m);
  return out;
}

bool MqttClient::wait_for(const std::function<bool(const std::vector<Received>&)>& predicate,
                          std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return predicate(received_); });
}

bool MqttClient::wait_for_message(const std::string& topic, const std::string& payload,
                                  std::chrono::milliseconds timeout) {
  return wait_for(
      [&](const std::vector<Received>& all) {
        return std::any_of(all.begin(), all.end(),
                           [&](const Received& m) { return m.topic == topic && m.payload == payload; });
      },
      timeout);
}

void MqttClient::clear() {
  std::lock_guard lock(mutex_);
  received_.clear();
}

}  // namespace sr::test
