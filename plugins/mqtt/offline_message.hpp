// One message waiting in the offline queue (offline_queue.hpp) and its file
// (queue_journal.hpp).
#pragma once

#include <string>

namespace sr::mqtt {

struct QueuedMessage {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
};

}  // namespace sr::mqtt
