// The file behind a durable offline queue (QueueFile, docs/mqtt.md "Durable
// offline queue"): readings queued while the broker is unreachable survive a
// restart, SIGKILL and a power cut.
//
// An append-only log. After an 8-byte header ("SRQUEUE1") each record is
//   u32 body length | u32 CRC-32 of the body | body        (little-endian)
// with a body of either
//   'M' u8 qos, u8 retain, u32 topic length, topic, payload   a queued message
//   'D' u64 n            the first n messages of this file are done (sent
//                        and acknowledged, or dropped beyond the cap)
// Records are written (write(2)) as they happen, so a SIGKILL loses nothing;
// fdatasync runs at most once per QueueSync (sync()), which bounds both what
// a power cut can lose and the write amplification on an SD card. A torn or
// corrupt record ends the log: it and everything after it are cut off when
// the file is opened, with one log line. When every message is done the file
// is truncated to its header; when done records outweigh live ones it is
// rewritten (a new file renamed over the old one).
//
// Not thread-safe: owned by one connection on the event loop thread. The
// file is locked (flock) so a second connection or process cannot share it.
#pragma once

#include "offline_message.hpp"

#include <sensor_reporter/handle.hpp>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace sr::mqtt {

// The directory a QueueFile lives in ("." for a bare name).
std::string directory_of(const std::string& path);

class QueueJournal {
 public:
  // What open() found in the file.
  struct Contents {
    std::vector<QueuedMessage> messages;  // not yet done, oldest first
    std::string problem;                  // a torn tail or a foreign file, cut off or moved aside; empty if none
  };

  // Opens (creating, mode 0600) and reads the file. Throws std::runtime_error
  // naming the path when it cannot be opened, locked, read or repaired.
  static QueueJournal open(const std::string& path, Contents& contents);

  QueueJournal(QueueJournal&&) = default;
  QueueJournal& operator=(QueueJournal&&) = default;

  // Appends one message. False (and the file unchanged) when it cannot be
  // written; error() then says why.
  bool append(const QueuedMessage& message);
  // n more messages, oldest first, are done. Recorded by the next sync().
  void consume(std::size_t n);
  // Every message is done: the file goes back to its header.
  void reset();
  // Done records take more room than live ones: worth a rewrite().
  bool worth_compacting() const;
  // Replaces the file with one holding only `live` (every message still
  // queued, oldest first, in the file or not).
  bool rewrite(const std::vector<const QueuedMessage*>& live);
  // Writes the done count and fdatasyncs, if anything changed since the last.
  bool sync();
  bool needs_sync() const { return dirty_ || consumed_unwritten_; }

  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }
  std::uint64_t size() const { return size_; }
  // Messages in the file not yet done.
  std::uint64_t live() const { return appended_ - consumed_; }
  std::uint64_t syncs() const { return syncs_; }

 private:
  QueueJournal(std::string path, sdk::UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  bool write_at_end(const std::string& bytes);
  bool write_record(const std::string& body);
  std::string done_record() const;
  bool fail(const char* what);

  std::string path_;
  sdk::UniqueFd fd_;
  std::uint64_t size_ = 0;        // bytes of whole records (and header) in the file
  std::uint64_t appended_ = 0;    // 'M' records in the file
  std::uint64_t consumed_ = 0;    // of which done
  std::uint64_t live_bytes_ = 0;  // bytes of the 'M' records not done
  std::deque<std::uint64_t> record_bytes_;  // size of each 'M' record not done, oldest first
  bool consumed_unwritten_ = false;
  bool dirty_ = false;
  std::uint64_t syncs_ = 0;
  std::string error_;
};

}  // namespace sr::mqtt
