// A watch over a bidi stream. A thread reads responses as they arrive into a queue; next()
// takes from it. When the member behind the stream goes away, the watch is reopened on the
// next endpoint from the revision after the last one delivered: etcd replays from there, so
// the consumer sees every event once, in order.
#include "watch.hpp"

#include <fmt/format.h>

#include <condition_variable>
#include <deque>
#include <thread>
#include <variant>

namespace drctl::etcd {
namespace {

using Item = std::variant<EtcdWatchResponse, EtcdError>;

class Watch : public EtcdWatch {
 public:
  Watch(std::shared_ptr<Core> core, std::string key, std::string range_end,
        std::int64_t start_revision)
      : m_core(std::move(core)),
        m_key(std::move(key)),
        m_range_end(std::move(range_end)),
        m_resume_from(start_revision) {}

  ~Watch() override { close(); }

  EtcdResult<void> open(Deadline deadline) {
    close();
    Endpoint& endpoint = m_core->current();
    m_endpoint = endpoint.address;
    m_context = m_core->stream_context();
    m_stream = endpoint.watch->Watch(m_context.get());
    etcdserverpb::WatchRequest request;
    auto* create = request.mutable_create_request();
    create->set_key(m_key);
    create->set_range_end(m_range_end);
    create->set_start_revision(m_resume_from);
    m_created = false;
    m_reader = std::thread([this, stream = m_stream.get(), endpoint_name = m_endpoint] {
      read_loop(stream, endpoint_name);
    });
    {
      std::lock_guard lock(m_write_mutex);
      m_stream->Write(request);
    }
    // Wait for the created (or an error) response.
    std::unique_lock lock(m_mutex);
    if (!m_changed.wait_until(lock, deadline, [&] { return m_created || !m_queue.empty(); })) {
      return tl::unexpected(EtcdError{EtcdError::Class::timeout, GRPC_STATUS_DEADLINE_EXCEEDED,
                                      "watch not confirmed by the deadline", m_endpoint});
    }
    if (!m_created && std::holds_alternative<EtcdError>(m_queue.front())) {
      auto error = std::get<EtcdError>(m_queue.front());
      m_queue.pop_front();
      return tl::unexpected(error);
    }
    if (m_resume_from == 0)
      m_resume_from = m_created_revision + 1;  // "from now" means after this revision
    m_core->succeeded();
    return {};
  }

  EtcdResult<std::optional<EtcdWatchResponse>> next(Deadline deadline) override {
    while (true) {
      std::unique_lock lock(m_mutex);
      if (!m_changed.wait_until(lock, deadline, [&] { return !m_queue.empty(); }))
        return std::nullopt;
      Item item = std::move(m_queue.front());
      m_queue.pop_front();
      if (auto* response = std::get_if<EtcdWatchResponse>(&item)) {
        if (!response->events.empty())
          m_resume_from = response->events.back().kv.mod_revision + 1;
        else if (!response->canceled)
          m_resume_from = std::max(m_resume_from, response->header.revision + 1);
        return std::move(*response);
      }
      lock.unlock();
      EtcdError error = std::get<EtcdError>(item);
      if (m_closing || !worth_failing_over(error)) return tl::unexpected(error);
      // Reopen elsewhere (or on the same member once it is back) until the deadline.
      while (true) {
        m_core->fail_over();
        auto reopened = open(deadline);
        if (reopened) {
          ++m_reconnects;
          break;
        }
        if (!worth_failing_over(reopened.error()) || std::chrono::steady_clock::now() >= deadline)
          return tl::unexpected(reopened.error());
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }

  void request_progress() override {
    etcdserverpb::WatchRequest request;
    request.mutable_progress_request();
    std::lock_guard lock(m_write_mutex);
    if (m_stream) m_stream->Write(request);
  }

  int reconnects() const override { return m_reconnects; }
  std::string endpoint() const override { return m_endpoint; }

 private:
  void read_loop(
      grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>* stream,
      std::string endpoint) {
    etcdserverpb::WatchResponse message;
    while (stream->Read(&message)) {
      auto received_at = std::chrono::steady_clock::now();
      std::lock_guard lock(m_mutex);
      if (message.created() && !m_created) {
        m_created = true;
        m_created_revision = message.header().revision();
        if (message.events_size() == 0 && !message.canceled()) {
          m_changed.notify_all();
          continue;
        }
      }
      EtcdWatchResponse response;
      response.header = header_from(message.header());
      response.canceled = message.canceled();
      response.compact_revision = message.compact_revision();
      response.cancel_reason = message.cancel_reason();
      response.received_at = received_at;
      response.events.reserve(message.events_size());
      for (const auto& event : message.events()) {
        response.events.push_back(
            {event.type() == mvccpb::Event::DELETE, key_value_from(event.kv())});
      }
      m_queue.emplace_back(std::move(response));
      m_changed.notify_all();
    }
    auto status = stream->Finish();
    auto error = status.ok() ? EtcdError{EtcdError::Class::unreachable, GRPC_STATUS_UNAVAILABLE,
                                         "watch stream closed by the server", endpoint}
                             : error_from(status, endpoint);
    std::lock_guard lock(m_mutex);
    m_queue.emplace_back(std::move(error));
    m_changed.notify_all();
  }

  void close() {
    if (!m_stream) return;
    m_closing = true;
    m_context->TryCancel();
    if (m_reader.joinable()) m_reader.join();
    m_closing = false;
    {
      std::lock_guard lock(m_write_mutex);
      m_stream.reset();
    }
    m_context.reset();
    std::lock_guard lock(m_mutex);
    m_queue.clear();  // only the closed stream's own error can be left
  }

  std::shared_ptr<Core> m_core;
  std::string m_key, m_range_end;
  std::int64_t m_resume_from;
  std::string m_endpoint;
  std::unique_ptr<grpc::ClientContext> m_context;
  std::unique_ptr<grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>>
      m_stream;
  std::thread m_reader;
  std::mutex m_mutex, m_write_mutex;
  std::condition_variable m_changed;
  std::deque<Item> m_queue;
  bool m_created = false;
  std::int64_t m_created_revision = 0;
  bool m_closing = false;
  int m_reconnects = 0;
};

}  // namespace

EtcdResult<std::unique_ptr<EtcdWatch>> open_watch(std::shared_ptr<Core> core,
                                                  const std::string& key,
                                                  const std::string& range_end,
                                                  std::int64_t start_revision, Deadline deadline) {
  auto watch = std::make_unique<Watch>(core, key, range_end, start_revision);
  while (true) {
    auto opened = watch->open(deadline);
    if (opened) return std::unique_ptr<EtcdWatch>(std::move(watch));
    if (!worth_failing_over(opened.error()) || std::chrono::steady_clock::now() >= deadline ||
        !core->fail_over()) {
      return tl::unexpected(opened.error());
    }
  }
}

}  // namespace drctl::etcd
