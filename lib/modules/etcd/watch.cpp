// A watch over a bidi stream. A thread reads responses as they arrive into a queue; next()
// takes from it. When the member behind the stream goes away, or stalls (with several
// endpoints: a stream silent for k_quiet is asked for a progress notification, and one that
// does not answer within k_unanswered is taken as stalled), the watch is reopened on the next
// endpoint from the revision after the last one delivered: etcd replays from there, so the
// consumer sees every event once, in order.
#include "watch.hpp"

#include <fmt/format.h>

#include <condition_variable>
#include <deque>
#include <optional>
#include <thread>
#include <variant>

namespace drctl::etcd {
namespace {

using Item = std::variant<EtcdWatchResponse, EtcdError>;
using Clock = std::chrono::steady_clock;

// A member answers a progress request at once (etcd 3.4), or as soon as its watchers have
// caught up, and one catching up sends events meanwhile: a second of silence after one is a
// member that does not answer.
constexpr std::chrono::milliseconds k_quiet{1'000};
constexpr std::chrono::milliseconds k_unanswered{1'000};

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
    // A stream on a channel still connecting (to a member that accepted TCP and says nothing)
    // would wait without a deadline of its own; one that failed to connect fails at once.
    for (auto state = endpoint.channel->GetState(true); state != GRPC_CHANNEL_READY;
         state = endpoint.channel->GetState(true)) {
      if (state == GRPC_CHANNEL_TRANSIENT_FAILURE ||
          !endpoint.channel->WaitForStateChange(state, to_system(deadline)))
        return tl::unexpected(EtcdError{EtcdError::Class::unreachable, GRPC_STATUS_UNAVAILABLE,
                                        state == GRPC_CHANNEL_TRANSIENT_FAILURE
                                            ? "cannot connect"
                                            : "no connection by the deadline",
                                        m_endpoint});
    }
    m_context = m_core->stream_context();
    m_stream = endpoint.watch->Watch(m_context.get());
    etcdserverpb::WatchRequest request;
    auto* create = request.mutable_create_request();
    create->set_key(m_key);
    create->set_range_end(m_range_end);
    create->set_start_revision(m_resume_from);
    m_created = false;
    m_last_heard = Clock::now();
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
      if (m_reopen) {
        auto reopened = reopen(deadline);
        if (!reopened) return tl::unexpected(reopened.error());
        if (m_reopen) return std::nullopt;  // not yet by the deadline: again on the next call
      }
      std::unique_lock lock(m_mutex);
      const bool asked = m_progress_asked > m_last_heard;
      auto check_at = m_core->size() < 2 ? Clock::time_point::max()
                      : asked            ? m_progress_asked + k_unanswered
                                         : m_last_heard + k_quiet;
      m_changed.wait_until(lock, std::min(deadline, check_at), [&] { return !m_queue.empty(); });
      if (m_queue.empty()) {
        lock.unlock();
        if (Clock::now() < check_at) return std::nullopt;
        if (!asked) {
          m_progress_asked = Clock::now();
          request_progress();
        } else {
          m_reopen =
              EtcdError{EtcdError::Class::timeout, GRPC_STATUS_DEADLINE_EXCEEDED,
                        "watch stream stalled (no answer to a progress request)", m_endpoint};
        }
        continue;
      }
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
      if (m_closing || !(worth_failing_over(error) || stalled(error))) return tl::unexpected(error);
      m_reopen = error;
      m_reopen_reports = true;
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
      m_last_heard = received_at;
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

  // Reopens on the next endpoint (or on the same member once it is back) until the deadline.
  // A broken stream that cannot be reopened by then ends the watch with the reopening's error;
  // after a stall, the next call tries again.
  EtcdResult<void> reopen(Deadline deadline) {
    while (true) {
      m_core->fail_over();
      auto reopened = open(Core::attempt_deadline(deadline, m_core->size()));
      if (reopened) {
        ++m_reconnects;
        m_reopen.reset();
        m_reopen_reports = false;
        return {};
      }
      const EtcdError& error = reopened.error();
      if (!(worth_failing_over(error) || stalled(error))) return tl::unexpected(error);
      if (Clock::now() >= deadline) {
        if (m_reopen_reports) return tl::unexpected(error);
        return {};
      }
      if (!stalled(error)) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
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
  Clock::time_point m_last_heard;      // the last response read (under m_mutex)
  Clock::time_point m_progress_asked;  // next()'s own progress request
  std::optional<EtcdError> m_reopen;   // why the stream must be reopened elsewhere
  bool m_reopen_reports = false;       // a broken stream: its reopening's failure ends the watch
};

}  // namespace

EtcdResult<std::unique_ptr<EtcdWatch>> open_watch(std::shared_ptr<Core> core,
                                                  const std::string& key,
                                                  const std::string& range_end,
                                                  std::int64_t start_revision, Deadline deadline) {
  auto watch = std::make_unique<Watch>(core, key, range_end, start_revision);
  for (std::size_t tried = 0;;) {
    auto opened = watch->open(Core::attempt_deadline(deadline, core->size() - tried));
    if (opened) return std::unique_ptr<EtcdWatch>(std::move(watch));
    const EtcdError& error = opened.error();
    if (!(worth_failing_over(error) || stalled(error)) || ++tried >= core->size() ||
        Clock::now() >= deadline)
      return tl::unexpected(error);
    core->fail_over();
  }
}

}  // namespace drctl::etcd
