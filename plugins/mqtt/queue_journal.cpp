#include "queue_journal.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sr::mqtt {
namespace {

constexpr std::string_view kHeader = "SRQUEUE1";
constexpr std::size_t kRecordHead = 8;  // length and CRC
// MQTT's largest payload plus topic and fields: a longer length is garbage.
constexpr std::uint32_t kMaxBody = 268435455u + 65535u + 7u;
// Rewriting pays only when done records are many: at least this many bytes
// and more than the live ones.
constexpr std::uint64_t kCompactAtDeadBytes = 64 * 1024;

void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::uint64_t get_le(std::string_view in, std::size_t at, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= std::uint64_t(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return value;
}

std::uint32_t crc_of(std::string_view body) {
  return static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
}

std::string message_body(const QueuedMessage& message) {
  std::string body;
  body.reserve(7 + message.topic.size() + message.payload.size());
  body.push_back('M');
  body.push_back(static_cast<char>(message.qos));
  body.push_back(message.retain ? 1 : 0);
  put_le(body, message.topic.size(), 4);
  body += message.topic;
  body += message.payload;
  return body;
}

std::string framed(std::string_view body) {
  std::string record;
  record.reserve(kRecordHead + body.size());
  put_le(record, body.size(), 4);
  put_le(record, crc_of(body), 4);
  record += body;
  return record;
}

bool write_all(int fd, std::string_view data, std::uint64_t at) {
  while (!data.empty()) {
    ssize_t n = pwrite(fd, data.data(), data.size(), static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
    at += static_cast<std::uint64_t>(n);
  }
  return true;
}

[[noreturn]] void fail_open(const std::string& path, const char* what) {
  throw std::runtime_error(fmt::format("QueueFile {}: {}: {}", path, what, std::strerror(errno)));
}

// Opens and locks path; a second connection or process on it is refused.
sdk::UniqueFd open_locked(const std::string& path, int flags) {
  sdk::UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC, 0600));
  if (!fd) fail_open(path, "cannot open");
  if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      throw std::runtime_error(
          fmt::format("QueueFile {} is in use by another connection or process (each needs its own)", path));
    fail_open(path, "cannot lock");
  }
  return fd;
}

std::string read_all(int fd, const std::string& path) {
  std::string data;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_open(path, "cannot read");
    if (n == 0) return data;
    data.append(buffer, static_cast<std::size_t>(n));
  }
}

// A directory entry (a rename) survives a power cut only once its directory is synced.
void sync_directory_of(const std::string& path) {
  sdk::UniqueFd fd(::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd) fsync(fd.get());
}

}  // namespace

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

QueueJournal QueueJournal::open(const std::string& path, Contents& contents) {
  sdk::UniqueFd fd = open_locked(path, O_RDWR | O_CREAT);
  std::string data = read_all(fd.get(), path);
  // Anything but our header (or a header cut short while it was written)
  // is someone else's file: kept aside for a look, never parsed.
  if (data.compare(0, kHeader.size(), kHeader) != 0 && kHeader.compare(0, data.size(), data) != 0) {
    const std::string aside = path + ".corrupt";
    if (rename(path.c_str(), aside.c_str()) != 0) fail_open(path, "cannot move a foreign file aside");
    contents.problem = fmt::format("not a queue file ({} bytes without its header): moved aside to {}; starting empty",
                                   data.size(), aside);
    fd = open_locked(path, O_RDWR | O_CREAT | O_EXCL);
    data.clear();
  }
  QueueJournal journal(path, std::move(fd));
  if (data.size() < kHeader.size()) {
    if (ftruncate(journal.fd_.get(), 0) != 0 || !write_all(journal.fd_.get(), kHeader, 0))
      fail_open(path, "cannot write its header");
    journal.size_ = kHeader.size();
    journal.dirty_ = true;
    return journal;
  }

  std::vector<QueuedMessage> messages;
  std::vector<std::uint64_t> sizes;
  std::size_t at = kHeader.size();
  std::string_view all(data);
  while (at < all.size()) {
    if (all.size() - at < kRecordHead) break;
    const auto length = static_cast<std::uint32_t>(get_le(all, at, 4));
    if (length == 0 || length > kMaxBody || all.size() - at - kRecordHead < length) break;
    const std::string_view body = all.substr(at + kRecordHead, length);
    if (crc_of(body) != get_le(all, at + 4, 4)) break;
    if (body[0] == 'M' && length >= 7) {
      const std::uint64_t topic_length = get_le(body, 3, 4);
      if (topic_length > length - 7u || body[1] < 0 || body[1] > 2 || body[2] > 1) break;
      messages.push_back(QueuedMessage{std::string(body.substr(7, topic_length)),
                                       std::string(body.substr(7 + topic_length)), body[1], body[2] == 1});
      sizes.push_back(kRecordHead + length);
    } else if (body[0] == 'D' && length == 9) {
      const std::uint64_t done = get_le(body, 1, 8);
      if (done < journal.consumed_ || done > messages.size()) break;
      journal.consumed_ = done;
    } else {
      break;
    }
    at += kRecordHead + length;
  }
  if (at < all.size()) {
    contents.problem = fmt::format("cut off {} byte(s) of a torn or corrupt record at byte {}", all.size() - at, at);
    if (ftruncate(journal.fd_.get(), static_cast<off_t>(at)) != 0) fail_open(path, "cannot cut off its torn tail");
    journal.dirty_ = true;
  }
  journal.size_ = at;
  journal.appended_ = messages.size();
  for (std::size_t i = journal.consumed_; i < messages.size(); ++i) {
    journal.record_bytes_.push_back(sizes[i]);
    journal.live_bytes_ += sizes[i];
    contents.messages.push_back(std::move(messages[i]));
  }
  return journal;
}

bool QueueJournal::fail(const char* what) {
  error_ = fmt::format("{}: {}", what, std::strerror(errno));
  return false;
}

std::string QueueJournal::done_record() const {
  std::string body(1, 'D');
  put_le(body, consumed_, 8);
  return framed(body);
}

// Appends whole bytes at the end. Whatever part of a failed write did reach
// the file would end the log at the next start and hide every record after
// it, so it is cut off again.
bool QueueJournal::write_at_end(const std::string& bytes) {
  if (!write_all(fd_.get(), bytes, size_)) {
    const int error_number = errno;
    if (ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0) {
      // Nothing more to do: the next open cuts the torn part off.
    }
    errno = error_number;
    return fail("cannot write");
  }
  size_ += bytes.size();
  consumed_unwritten_ = false;  // every caller's bytes carry the done count
  dirty_ = true;
  error_.clear();
  return true;
}

// A done count not yet written goes first, in the same write: a queue at
// its cap drops one message per new one, and without it a SIGKILL would
// bring every dropped one back.
bool QueueJournal::write_record(const std::string& body) {
  return write_at_end((consumed_unwritten_ ? done_record() : std::string()) + framed(body));
}

bool QueueJournal::append(const QueuedMessage& message) {
  const std::string body = message_body(message);
  if (!write_record(body)) return false;
  ++appended_;
  record_bytes_.push_back(kRecordHead + body.size());
  live_bytes_ += kRecordHead + body.size();
  return true;
}

void QueueJournal::consume(std::size_t n) {
  for (std::size_t i = 0; i < n && !record_bytes_.empty(); ++i) {
    live_bytes_ -= record_bytes_.front();
    record_bytes_.pop_front();
    ++consumed_;
  }
  if (consumed_ == appended_)
    reset();
  else if (n > 0)
    consumed_unwritten_ = true;
}

void QueueJournal::reset() {
  if (size_ > kHeader.size() && ftruncate(fd_.get(), static_cast<off_t>(kHeader.size())) != 0) {
    fail("cannot truncate");
    return;
  }
  if (size_ > kHeader.size()) dirty_ = true;
  size_ = kHeader.size();
  appended_ = consumed_ = live_bytes_ = 0;
  record_bytes_.clear();
  consumed_unwritten_ = false;
}

bool QueueJournal::worth_compacting() const {
  const std::uint64_t dead = size_ - kHeader.size() - live_bytes_;
  return dead >= kCompactAtDeadBytes && dead > live_bytes_;
}

bool QueueJournal::rewrite(const std::vector<const QueuedMessage*>& live) {
  const std::string temporary = path_ + ".new";
  sdk::UniqueFd fd;
  try {
    fd = open_locked(temporary, O_RDWR | O_CREAT | O_TRUNC);
  } catch (const std::runtime_error& e) {
    error_ = e.what();
    return false;
  }
  std::string data(kHeader);
  std::deque<std::uint64_t> sizes;
  for (const QueuedMessage* message : live) {
    const std::string record = framed(message_body(*message));
    sizes.push_back(record.size());
    data += record;
  }
  // The new file replaces the old one only once it is whole on disk.
  if (!write_all(fd.get(), data, 0) || fdatasync(fd.get()) != 0 || rename(temporary.c_str(), path_.c_str()) != 0) {
    fail("cannot rewrite");
    unlink(temporary.c_str());
    return false;
  }
  sync_directory_of(path_);
  fd_ = std::move(fd);
  size_ = data.size();
  appended_ = live.size();
  consumed_ = 0;
  live_bytes_ = size_ - kHeader.size();
  record_bytes_ = std::move(sizes);
  consumed_unwritten_ = false;
  dirty_ = false;
  ++syncs_;
  return true;
}

bool QueueJournal::sync() {
  if (consumed_unwritten_ && !write_at_end(done_record())) return false;
  if (!dirty_) return true;
  if (fdatasync(fd_.get()) != 0) return fail("cannot sync");
  dirty_ = false;
  ++syncs_;
  return true;
}

}  // namespace sr::mqtt
