#pragma once
// Canary puts through one side, watched through the other: how long a change takes to reach
// a watcher (put sent -> event received), beside the put's own round trip.
#include <string>

#include "clients/etcd.hpp"
#include "util/stats.hpp"

namespace drctl {

struct WatchLatencyOptions {
  std::string key;  // the canary key (written, then deleted)
  int count = 100;
  double rate = 50;             // puts per second; 0: back to back
  Millis event_timeout{5'000};  // how long to wait for the last events after the last put
};

struct WatchLatencyResult {
  LatencySummary propagation;  // put sent -> watch event received
  LatencySummary put;          // put round trip
  int lost = 0;                // puts whose event never arrived
  std::string put_endpoint, watch_endpoint;
  int watch_reconnects = 0;
};

EtcdResult<WatchLatencyResult> measure_watch_latency(EtcdSession& put_side, EtcdSession& watch_side,
                                                     const WatchLatencyOptions& options,
                                                     Deadline deadline);

}  // namespace drctl
