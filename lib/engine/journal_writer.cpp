#include "engine/journal_writer.hpp"

#include <algorithm>

namespace drctl {

using Clock = std::chrono::steady_clock;

JournalWriter::JournalWriter(std::vector<std::unique_ptr<JournalSink>> sinks,
                             std::chrono::milliseconds linger)
    : m_linger(linger) {
  for (auto& sink : sinks) {
    auto lane = std::make_unique<Lane>();
    lane->sink = std::move(sink);
    m_lanes.push_back(std::move(lane));
  }
}

JournalWriter::~JournalWriter() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_all();
  for (auto& lane : m_lanes) {
    if (lane->thread.joinable()) lane->thread.join();
  }
}

void JournalWriter::open(const std::string& run_id) {
  std::lock_guard lock(m_mutex);
  m_run_id = run_id;
  m_opened = true;
  for (auto& lane : m_lanes) {
    if (!lane->sink->remote()) {
      if (auto opened = lane->sink->open(run_id); !opened) fail(*lane, opened.error());
      lane->opened = true;
    }
    lane->thread = std::thread([this, raw = lane.get()] { serve(*raw); });
  }
}

void JournalWriter::fail(Lane& lane, const std::string& why) {
  lane.failed = true;
  if (m_error.empty()) m_error = why;
}

void JournalWriter::append(const std::string& line, Durability durability) {
  std::unique_lock lock(m_mutex);
  const std::uint64_t number = ++m_lines;
  for (auto& lane : m_lanes) {
    if (lane->failed) continue;
    if (auto written = lane->sink->write(line); !written) {
      fail(*lane, written.error());
      continue;
    }
    if (lane->written == lane->synced) lane->oldest_unsynced = Clock::now();
    lane->written = number;
  }
  if (durability != Durability::later) {
    for (auto& lane : m_lanes) lane->due = number;
  }
  m_wake.notify_all();
  if (durability != Durability::everywhere || !m_opened) return;
  m_done.wait(lock, [&] {
    return std::all_of(m_lanes.begin(), m_lanes.end(),
                       [&](const auto& lane) { return lane->failed || lane->synced >= number; });
  });
}

std::string JournalWriter::failure() const {
  std::lock_guard lock(m_mutex);
  return m_error;
}

void JournalWriter::serve(Lane& lane) {
  std::unique_lock lock(m_mutex);
  if (!lane.opened) {
    lock.unlock();
    auto opened = lane.sink->open(m_run_id);  // m_run_id is not written again once lanes run
    lock.lock();
    if (!opened) fail(lane, opened.error());
    lane.opened = true;
  }
  while (!lane.failed) {
    bool pending = lane.written > lane.synced;
    bool due = pending && (lane.due > lane.synced || m_stopping ||
                           Clock::now() >= lane.oldest_unsynced + m_linger);
    if (!due) {
      if (m_stopping) break;
      if (pending) {
        m_wake.wait_until(lock, lane.oldest_unsynced + m_linger);
      } else {
        m_wake.wait(lock);
      }
      continue;
    }
    std::uint64_t target = lane.written;  // sync() covers at least every line written so far
    lock.unlock();
    auto synced = lane.sink->sync();
    lock.lock();
    if (!synced) {
      fail(lane, synced.error());
    } else {
      lane.synced = target;
      if (lane.written > target) lane.oldest_unsynced = Clock::now();
    }
    m_done.notify_all();
  }
  m_done.notify_all();
}

}  // namespace drctl
