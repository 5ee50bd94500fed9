#pragma once
// A few threads made up front, then given one batch of indexed tasks. Why up front: creating a
// thread waits for the dynamic loader's lock, and loading a client module (the etcd module,
// gRPC's static initialisers) holds it for ~15 ms; threads made before any load never wait.
#include <atomic>
#include <cstddef>
#include <functional>
#include <future>
#include <thread>
#include <vector>

namespace drctl {

class Crew {
 public:
  explicit Crew(std::size_t threads) : m_ready(m_go.get_future().share()) {
    for (std::size_t i = 0; i < threads; ++i) m_threads.emplace_back([this] { work(); });
  }
  ~Crew() {
    run(0, [](std::size_t) {});
  }

  // Runs task(0) .. task(count - 1), on the crew and the calling thread; returns when all are
  // done. Only once per crew.
  void run(std::size_t count, const std::function<void(std::size_t)>& task) {
    if (m_started) return;
    m_started = true;
    m_count = count;
    m_task = &task;
    m_go.set_value();
    work();
    for (auto& thread : m_threads) thread.join();
  }

 private:
  void work() {
    m_ready.wait();
    for (std::size_t i = m_next++; i < m_count; i = m_next++) (*m_task)(i);
  }

  std::promise<void> m_go;
  std::shared_future<void> m_ready;
  std::vector<std::thread> m_threads;
  std::atomic<std::size_t> m_next{0};
  std::size_t m_count = 0;
  const std::function<void(std::size_t)>* m_task = nullptr;
  bool m_started = false;
};

}  // namespace drctl
