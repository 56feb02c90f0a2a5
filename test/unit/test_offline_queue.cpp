// The offline queue (order, cap, messages in flight) and its file
// (QueueFile): what survives a restart, a torn tail, a foreign file.
#include "mqtt/offline_queue.hpp"
#include "mqtt/queue_journal.hpp"
#include "support/process.h"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

using sr::mqtt::OfflineQueue;
using sr::mqtt::QueuedMessage;
using sr::mqtt::QueueJournal;

namespace {

QueuedMessage reading(const std::string& payload, int qos = 0) {
  return QueuedMessage{"home/sensor", payload, qos, false};
}

// Sends every waiting message as the connection does: handed over as mid,
// then confirmed by the publish callback. Returns the payloads in order.
std::vector<std::string> deliver_all(OfflineQueue& queue, int& mid) {
  std::vector<std::string> sent;
  while (!queue.empty()) {
    sent.push_back(queue.front().payload);
    queue.sent(++mid);
    queue.published(mid);
  }
  return sent;
}

std::vector<std::string> payloads(const std::vector<QueuedMessage>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.push_back(m.payload);
  return out;
}

// What a restart finds in the file.
QueueJournal::Contents reopen(const std::string& path) {
  QueueJournal::Contents contents;
  QueueJournal journal = QueueJournal::open(path, contents);
  return contents;
}

OfflineQueue durable_queue(const std::string& path, std::size_t capacity, QueueJournal::Contents* found = nullptr) {
  QueueJournal::Contents contents;
  QueueJournal journal = QueueJournal::open(path, contents);
  if (found) *found = contents;
  OfflineQueue queue(capacity);
  queue.attach(std::move(journal), std::move(contents.messages));
  return queue;
}

off_t file_size(const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_size;
}

}  // namespace

TEST_CASE("the offline queue keeps order and drops the oldest beyond its capacity, counting them") {
  OfflineQueue queue(3);
  for (int i = 1; i <= 5; ++i) queue.push(reading(std::to_string(i)));
  CHECK(queue.size() == 3);
  CHECK(queue.take_dropped() == 2);
  CHECK(queue.take_dropped() == 0);
  int mid = 0;
  CHECK(deliver_all(queue, mid) == std::vector<std::string>{"3", "4", "5"});
  CHECK(queue.empty());
  CHECK(queue.in_flight() == 0);
}

TEST_CASE("OfflineQueue = 0 disables queueing and counts every message as dropped") {
  OfflineQueue queue(0);
  CHECK_FALSE(queue.push(reading("1")));
  CHECK(queue.empty());
  CHECK(queue.take_dropped() == 1);
}

TEST_CASE("QoS 0 messages in flight when the link drops wait again, before the newer ones; QoS 1 ones stay in flight") {
  OfflineQueue queue(10);
  queue.push(reading("a"));
  queue.push(reading("b", 1));
  queue.push(reading("c"));
  queue.sent(1);  // a
  queue.sent(2);  // b
  CHECK(queue.size() == 1);
  CHECK(queue.in_flight() == 2);
  queue.connection_lost();
  // libmosquitto forgets unwritten QoS 0 packets but sends b again itself.
  CHECK(queue.in_flight() == 1);
  REQUIRE(queue.size() == 2);
  CHECK(queue.front().payload == "a");
  queue.sent(3);
  CHECK(queue.front().payload == "c");
}

TEST_CASE("a message published directly (never queued) confirms nothing in the queue") {
  OfflineQueue queue(10);
  queue.push(reading("a"));
  queue.sent(7);
  queue.published(8);
  CHECK(queue.in_flight() == 1);
  queue.published(7);
  CHECK(queue.in_flight() == 0);
}

TEST_CASE("QueueFile: what was queued comes back in order after a restart") {
  sr::test::TempDir dir;
  const std::string path = dir.file("link.queue");
  {
    OfflineQueue queue = durable_queue(path, 100);
    for (int i = 1; i <= 5; ++i) queue.push(reading(std::to_string(i), i % 3));
    // No sync(): written, not yet fdatasynced, as a SIGKILL would leave it.
  }
  QueueJournal::Contents contents = reopen(path);
  CHECK(contents.problem.empty());
  CHECK(payloads(contents.messages) == std::vector<std::string>{"1", "2", "3", "4", "5"});
  CHECK(contents.messages[1].qos == 2);
  CHECK(contents.messages[0].topic == "home/sensor");
  CHECK((file_size(path) & 0777) >= 0);
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);  // readings may be private
}

TEST_CASE("QueueFile: confirmed messages leave the file; once all have, it is back to its header") {
  sr::test::TempDir dir;
  const std::string path = dir.file("link.queue");
  int mid = 0;
  {
    OfflineQueue queue = durable_queue(path, 100);
    for (int i = 1; i <= 5; ++i) queue.push(reading(std::to_string(i)));
    queue.sent(++mid);
    queue.published(mid);
    queue.sent(++mid);
    queue.published(mid);
    queue.sent(++mid);  // in flight: not confirmed, so it stays
    CHECK(queue.sync());
  }
  CHECK(payloads(reopen(path).messages) == std::vector<std::string>{"3", "4", "5"});
  {
    OfflineQueue queue = durable_queue(path, 100);
    CHECK(deliver_all(queue, mid) == std::vector<std::string>{"3", "4", "5"});
    CHECK(queue.sync());
  }
  CHECK(file_size(path) == 8);
  CHECK(reopen(path).messages.empty());
}

TEST_CASE("QueueFile: the cap applies to what a restart finds, and a drop behind one in flight waits its turn") {
  sr::test::TempDir dir;
  const std::string path = dir.file("link.queue");
  {
    OfflineQueue queue = durable_queue(path, 10);
    for (int i = 1; i <= 6; ++i) queue.push(reading(std::to_string(i)));
  }
  {
    OfflineQueue queue = durable_queue(path, 4);
    CHECK(queue.take_dropped() == 2);
    REQUIRE(queue.size() == 4);
    CHECK(queue.front().payload == "3");
    queue.sent(1);             // 3 in flight
    queue.push(reading("7"));  // 4 5 6 7 waiting: the cap
    queue.push(reading("8"));  // drops 4, the oldest waiting, behind 3
    CHECK(queue.take_dropped() == 1);
    queue.published(1);  // 3 and the dropped 4 leave the file together
    CHECK(queue.sync());
  }
  CHECK(payloads(reopen(path).messages) == std::vector<std::string>{"5", "6", "7", "8"});
}

TEST_CASE("QueueFile: a torn tail is cut off with one problem line; what came before it is kept and appends work") {
  sr::test::TempDir dir;
  const std::string path = dir.file("link.queue");
  {
    OfflineQueue queue = durable_queue(path, 100);
    for (int i = 1; i <= 3; ++i) queue.push(reading("value " + std::to_string(i)));
  }
  const off_t whole = file_size(path);
  REQUIRE(truncate(path.c_str(), whole - 5) == 0);  // the power went during the last write
  QueueJournal::Contents found;
  {
    OfflineQueue queue = durable_queue(path, 100, &found);
    CHECK(found.problem.find("torn or corrupt record") != std::string::npos);
    CHECK(payloads(found.messages) == std::vector<std::string>{"value 1", "value 2"});
    queue.push(reading("value 4"));
  }
  QueueJournal::Contents after = reopen(path);
  CHECK(after.problem.empty());
  CHECK(payloads(after.messages) == std::vector<std::string>{"value 1", "value 2", "value 4"});
}

TEST_CASE("QueueFile: a record whose CRC does not match ends the log there") {
  sr::test::TempDir dir;
  const std::string path = dir.file("link.queue");
  {
    OfflineQueue queue = durable_queue(path, 100);
    for (int i = 1; i <= 3; ++i) queue.push(reading("value " + std::to_string(i)));
  }
  std::string bytes = sr::test::read_file(path);
  const auto second = bytes.find("value 2");
  REQUIRE(second != std::string::npos);
  bytes[second] = 'V';  // a flipped bit on the card
  sr::test::write_file(path, bytes);
  QueueJournal::Contents contents = reopen(path);
  CHECK(contents.problem.find("at byte") != std::string::npos);
  CHECK(payloads(contents.messages) == std::vector<std::string>{"value 1"});
}

TEST_CASE("QueueFile: a file that is not a queue is moved aside, never parsed, and the queue starts empty") {
  sr::test::TempDir dir;
  const std::string path = dir.write("link.queue", "these are someone's notes, not a queue\n");
  QueueJournal::Contents contents = reopen(path);
  CHECK(contents.messages.empty());
  CHECK(contents.problem.find("moved aside to " + path + ".corrupt") != std::string::npos);
  CHECK(sr::test::read_file(path + ".corrupt") == "these are someone's notes, not a queue\n");
  CHECK(file_size(path) == 8);
}

TEST_CASE("QueueFile: garbage after a good header is cut off, not a crash") {
  sr::test::TempDir dir;
  std::string bytes = "SRQUEUE1";
  for (int i = 0; i < 300; ++i) bytes.push_back(static_cast<char>((i * 7919) & 0xff));
  const std::string path = dir.write("link.queue", bytes);
  QueueJournal::Contents contents = reopen(path);
  CHECK(contents.messages.empty());
  CHECK(contents.problem.find("cut off 300 byte(s)") != std::string::npos);
  CHECK(file_size(path) == 8);
}

TEST_CASE("QueueFile: two connections cannot share one file, and a missing directory is named") {
  sr::test::TempDir dir;
  const std::string path = dir.file("link.queue");
  QueueJournal::Contents contents;
  QueueJournal first = QueueJournal::open(path, contents);
  CHECK_THROWS_WITH(QueueJournal::open(path, contents),
                    doctest::Contains("is in use by another connection or process"));
  CHECK_THROWS_WITH(QueueJournal::open(dir.file("missing/link.queue"), contents),
                    doctest::Contains("missing/link.queue: cannot open: No such file or directory"));
}

TEST_CASE("QueueFile: a long outage at the cap keeps the file bounded by rewriting it") {
  sr::test::TempDir dir;
  const std::string path = dir.file("link.queue");
  const std::string payload(100, 'x');
  {
    OfflineQueue queue = durable_queue(path, 10);
    for (int i = 0; i < 20000; ++i) queue.push(reading(payload + std::to_string(i)));
    CHECK(queue.take_dropped() == 19990);
  }
  // Ten live records of ~130 bytes; the rewrite threshold is 64 KiB of done ones.
  CHECK(file_size(path) < 2 * 64 * 1024 + 10 * 200);
  QueueJournal::Contents contents = reopen(path);
  REQUIRE(contents.messages.size() == 10);
  CHECK(contents.messages.front().payload == payload + "19990");
  CHECK(contents.messages.back().payload == payload + "19999");
  CHECK(access((path + ".new").c_str(), F_OK) != 0);
}
