// Fuzz target: the reader of mqtt's QueueFile (plugins/mqtt/queue_journal.cpp),
// which must take whatever a power cut, a failing SD card or another program
// left in the file.
//
// Input: the file's bytes.
//
// Invariants:
//  - open() never throws for what the file holds (only for I/O it cannot do);
//  - afterwards the file is whole: opened again it reports no problem and
//    gives the same messages, in order;
//  - a message appended then comes back after them.
#include "mqtt/queue_journal.hpp"

#include "fuzz_host.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

using sr::mqtt::QueueJournal;
using sr::mqtt::QueuedMessage;

const std::string& scratch_path() {
  static const std::string path = [] {
    std::string dir = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/fuzz_queue_file.XXXXXX";
    if (!mkdtemp(dir.data())) std::abort();
    return dir + "/link.queue";
  }();
  return path;
}

bool same(const std::vector<QueuedMessage>& a, const std::vector<QueuedMessage>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].topic != b[i].topic || a[i].payload != b[i].payload || a[i].qos != b[i].qos ||
        a[i].retain != b[i].retain)
      return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = scratch_path();
  {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(::write(fd, data, size) == static_cast<ssize_t>(size));
    ::close(fd);
  }
  QueueJournal::Contents first;
  { QueueJournal journal = QueueJournal::open(path, first); }
  QueueJournal::Contents second;
  {
    QueueJournal journal = QueueJournal::open(path, second);
    FUZZ_CHECK(second.problem.empty());
    FUZZ_CHECK(same(first.messages, second.messages));
    // No sync(): an fdatasync per input would cut the rate a hundredfold,
    // and a reopen reads the page cache anyway.
    FUZZ_CHECK(journal.append(QueuedMessage{"sr/after", "appended", 1, true}));
  }
  QueueJournal::Contents third;
  { QueueJournal journal = QueueJournal::open(path, third); }
  FUZZ_CHECK(third.problem.empty());
  first.messages.push_back(QueuedMessage{"sr/after", "appended", 1, true});
  FUZZ_CHECK(same(first.messages, third.messages));
  unlink((path + ".corrupt").c_str());
  return 0;
}
