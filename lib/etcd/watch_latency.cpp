#include "etcd/watch_latency.hpp"

#include <chrono>
#include <thread>

namespace drctl {
namespace {
using Clock = std::chrono::steady_clock;
double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}
}  // namespace

EtcdResult<WatchLatencyResult> measure_watch_latency(EtcdSession& put_side, EtcdSession& watch_side,
                                                     const WatchLatencyOptions& options,
                                                     Deadline deadline) {
  // The watch is open (confirmed by etcd) before the first put, so every event counts.
  auto watch = watch_side.watch(options.key, "", 0, deadline);
  if (!watch) return tl::unexpected(watch.error());
  const int count = std::max(options.count, 1);
  std::vector<Clock::time_point> sent(count);
  std::vector<double> put_ms, propagation_ms;
  std::vector<bool> seen(count, false);
  int seen_count = 0;
  // Events are stamped on arrival by the watch's own thread, so draining them between puts
  // does not add to the measured latency.
  auto drain = [&](Deadline until) -> EtcdResult<void> {
    while (seen_count < count) {
      auto response = (*watch)->next(until);
      if (!response) return tl::unexpected(response.error());
      if (!*response) return {};
      for (const auto& event : (*response)->events) {
        if (event.is_delete) continue;
        int index = -1;
        try {
          index = std::stoi(event.kv.value);
        } catch (...) {
          continue;  // someone else's write to the canary key
        }
        if (index < 0 || index >= count || seen[index]) continue;
        seen[index] = true;
        ++seen_count;
        propagation_ms.push_back(ms((*response)->received_at - sent[index]));
      }
    }
    return {};
  };
  auto start = Clock::now();
  for (int i = 0; i < count; ++i) {
    if (options.rate > 0) {
      auto due = start + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(i / options.rate));
      auto drained = drain(std::min(due, deadline));
      if (!drained) return tl::unexpected(drained.error());
      std::this_thread::sleep_until(std::min(due, deadline));
    }
    if (Clock::now() >= deadline) break;
    sent[i] = Clock::now();
    auto put = put_side.put(options.key, std::to_string(i), 0, deadline);
    if (!put) return tl::unexpected(put.error());
    put_ms.push_back(ms(Clock::now() - sent[i]));
  }
  auto drained = drain(std::min(deadline, Clock::now() + options.event_timeout));
  if (!drained) return tl::unexpected(drained.error());
  put_side.erase(options.key, "", deadline);  // best effort: the canary leaves nothing behind
  WatchLatencyResult result;
  result.lost = static_cast<int>(put_ms.size()) - seen_count;
  result.propagation = summarize(propagation_ms);
  result.put = summarize(put_ms);
  result.put_endpoint = put_side.endpoint();
  result.watch_endpoint = (*watch)->endpoint();
  result.watch_reconnects = (*watch)->reconnects();
  return result;
}

}  // namespace drctl
