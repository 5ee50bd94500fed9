#include "engine/approval_inbox.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "clients/etcd.hpp"
#include "clients/etcd_connection.hpp"
#include "util/clock.hpp"
#include "util/json_dump.hpp"
#include "util/json_fields.hpp"
#include "util/print.hpp"
#include "util/safe_files.hpp"
#include "util/secrets.hpp"
#include "util/strings.hpp"

namespace drctl {
namespace {

using Clock = std::chrono::steady_clock;
constexpr Millis k_poll{100};
constexpr Millis k_etcd_poll{250};
constexpr Millis k_etcd_call{5'000};

std::string local_dir(const std::string& state_dir, const std::string& run_id) {
  return fmt::format("{}/approvals/{}", state_dir, run_id);
}

// The decision in the state dir, if one was posted there (a file still being written, or
// one that is not a decision, reads as none yet).
std::optional<PostedDecision> read_local(const std::string& state_dir, const std::string& run_id,
                                         const std::string& step) {
  auto dir = open_dir_checked(local_dir(state_dir, run_id), DirTrust::private_to_user);
  if (!dir) return std::nullopt;
  UniqueFd fd(::openat(dir->get(), (step + ".json").c_str(),
                       O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd || untrusted_file(fd.get(), step)) return std::nullopt;
  std::string text;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = ::read(fd.get(), buffer, sizeof buffer)) > 0) text.append(buffer, n);
  return PostedDecision::from_json(nlohmann::json::parse(text, nullptr, false));
}

tl::expected<std::unique_ptr<EtcdSession>, std::string> connect(const LockSpec& lock) {
  auto session = etcd_connect(Spec(lock.etcd), Clock::now() + k_etcd_call, "approval");
  if (!session) return tl::unexpected(redact(session.error().message));
  return std::move(*session);
}

tl::expected<void, std::string> post_local(const std::string& state_dir, const std::string& run_id,
                                           const std::string& step,
                                           const PostedDecision& decision) {
  const std::string dir_path = local_dir(state_dir, run_id);
  auto dir = open_dir_checked(dir_path, DirTrust::private_to_user, 0700);
  if (!dir) return tl::unexpected(dir.error().message);
  const std::string shown = fmt::format("{}/{}.json", dir_path, step);
  auto already = [&]() -> std::string {
    auto first = read_local(state_dir, run_id, step);
    return first ? "already " + first->describe() : shown + " already exists";
  };
  if (::faccessat(dir->get(), (step + ".json").c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    return tl::unexpected(already());
  // Written whole under a temporary name, then linked into place: the decision appears
  // complete or not at all, and link() fails on a name that exists (the first one stands).
  const std::string temp = fmt::format(".{}.{}.tmp", step, ::getpid());
  auto file = create_file_at(dir->get(), temp, O_WRONLY, 0600, dir_path + "/" + temp);
  if (!file) return tl::unexpected(file.error().message);
  const std::string text = dump_json(decision.to_json()) + "\n";
  const bool written =
      ::write(file->get(), text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
      ::fsync(file->get()) == 0;
  const int linked =
      written ? ::linkat(dir->get(), temp.c_str(), dir->get(), (step + ".json").c_str(), 0) : -1;
  const int error = errno;
  ::unlinkat(dir->get(), temp.c_str(), 0);
  if (linked != 0 && error == EEXIST) return tl::unexpected(already());
  if (linked != 0) return tl::unexpected(fmt::format("{}: {}", shown, std::strerror(error)));
  return {};
}

tl::expected<void, std::string> post_etcd(const LockSpec& lock, const std::string& run_id,
                                          const std::string& step, const PostedDecision& decision) {
  auto session = connect(lock);
  if (!session) return tl::unexpected(session.error());
  const std::string key = approval_etcd_key(lock, run_id, step);
  EtcdPutCondition absent;
  absent.mod_revision = 0;
  auto put =
      (*session)->put_if(key, dump_json(decision.to_json()), absent, 0, Clock::now() + k_etcd_call);
  if (!put) return tl::unexpected(fmt::format("etcd {}: {}", key, redact(put.error().to_string())));
  if (!put->succeeded) {
    auto first =
        put->previous
            ? PostedDecision::from_json(nlohmann::json::parse(put->previous->value, nullptr, false))
            : std::nullopt;
    return tl::unexpected(first ? "already " + first->describe()
                                : fmt::format("etcd {} already holds a decision", key));
  }
  return {};
}

ApprovalDecision decided(const PostedDecision& posted, std::string via) {
  ApprovalDecision d;
  d.verdict =
      posted.approve ? ApprovalDecision::Verdict::approved : ApprovalDecision::Verdict::rejected;
  d.by = posted.by;
  d.comment = posted.comment;
  d.at = posted.at;
  d.host = posted.host;
  d.login = posted.login;
  d.via = std::move(via);
  return d;
}

}  // namespace

nlohmann::json PostedDecision::to_json() const {
  return {{"decision", approve ? "approve" : "reject"},
          {"by", by},
          {"comment", comment},
          {"at", at},
          {"host", host},
          {"login", login}};
}

std::optional<PostedDecision> PostedDecision::from_json(const nlohmann::json& j) {
  const std::string decision = json_text(j, "decision");
  if (decision != "approve" && decision != "reject") return std::nullopt;
  PostedDecision out;
  out.approve = decision == "approve";
  out.by = json_text(j, "by");
  out.comment = json_text(j, "comment");
  out.at = json_text(j, "at");
  out.host = json_text(j, "host");
  out.login = json_text(j, "login");
  return out;
}

std::string PostedDecision::describe() const {
  return fmt::format("{} by {} at {}", approve ? "approved" : "rejected", by, at);
}

std::string approval_etcd_key(const LockSpec& lock, const std::string& run_id,
                              const std::string& step) {
  return fmt::format("{}/approvals/{}/{}", lock.key, run_id, step);
}

tl::expected<void, std::string> post_decision(const ApprovalPlace& place, const std::string& run_id,
                                              const std::string& step,
                                              const PostedDecision& decision) {
  if (place.lock) return post_etcd(*place.lock, run_id, step, decision);
  return post_local(place.state_dir, run_id, step, decision);
}

void ApprovalInbox::discard_typed_ahead() {
  m_typed.clear();
  if (m_terminal) ::tcflush(STDIN_FILENO, TCIFLUSH);
}

std::optional<ApprovalWaiting> approval_waiting_in(const std::vector<nlohmann::json>& lines) {
  std::optional<ApprovalWaiting> waiting;
  for (const auto& line : lines) {
    const std::string type = json_text(line, "type");
    if (type == "approval_waiting") {
      waiting = ApprovalWaiting{json_text(line, "phase"), json_text(line, "name"),
                                json_text(line, "message"), json_text(line, "since")};
    } else if (waiting && type == "entry_finished" && json_text(line, "name") == waiting->step &&
               json_text(line, "phase") == waiting->phase) {
      waiting.reset();
    } else if (type == "run_finished") {
      waiting.reset();
    }
  }
  return waiting;
}

ApprovalDecision ApprovalInbox::wait(const std::string& run_id, const std::string& step,
                                     Deadline deadline, const CancelToken& cancel) {
  const auto started = Clock::now();
  std::unique_ptr<EtcdSession> session;
  auto next_etcd = started;
  std::string etcd_trouble;  // said once, while it lasts
  auto finish = [&](ApprovalDecision d) {
    d.waited = std::chrono::duration_cast<Millis>(Clock::now() - started);
    return d;
  };
  while (true) {
    if (cancel.stop_requested()) return finish({ApprovalDecision::Verdict::cancelled});
    while (m_terminal) {
      pollfd p{STDIN_FILENO, POLLIN, 0};
      if (::poll(&p, 1, 0) != 1) break;
      char buffer[512];
      ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
      if (n <= 0) {
        m_terminal = false;  // closed: decisions can still come through drctl approve
        break;
      }
      m_typed.append(buffer, static_cast<std::size_t>(n));
      for (auto end = m_typed.find('\n'); end != std::string::npos; end = m_typed.find('\n')) {
        const std::string line = trim(m_typed.substr(0, end));
        m_typed.erase(0, end + 1);
        // "WORD" or "WORD: comment" (a name has no ':').
        const auto colon = line.find(':');
        const std::string word = trim(line.substr(0, colon));
        const std::string comment = colon == std::string::npos ? "" : trim(line.substr(colon + 1));
        if (word == step || word == "reject") {
          // The step's name approves (a step named "reject" is approved by its name).
          PostedDecision typed{
              word == step, "", comment, rfc3339_utc(std::chrono::system_clock::now()), "", ""};
          return finish(decided(typed, "terminal"));
        }
        if (!line.empty())
          print_to(stderr,
                   "drctl: type '{}' to approve, or 'reject' to reject (a comment may follow "
                   "a ':')\n",
                   step);
      }
    }
    if (auto local = read_local(m_place.state_dir, run_id, step))
      return finish(decided(*local, "state dir"));
    if (m_place.lock && Clock::now() >= next_etcd) {
      next_etcd = Clock::now() + k_etcd_poll;
      if (!session) {
        auto connected = connect(*m_place.lock);
        if (connected) session = std::move(*connected);
        if (!connected && etcd_trouble.empty()) {
          etcd_trouble = connected.error();
          print_to(stderr, "drctl: warning: cannot read approvals from etcd: {}\n", etcd_trouble);
        }
      }
      if (session) {
        EtcdRangeRequest request;
        request.key = approval_etcd_key(*m_place.lock, run_id, step);
        auto got = session->range(request, std::min(deadline, Clock::now() + k_etcd_poll));
        if (got && !got->kvs.empty()) {
          auto posted =
              PostedDecision::from_json(nlohmann::json::parse(got->kvs[0].value, nullptr, false));
          if (posted) return finish(decided(*posted, "etcd"));
        } else if (!got && etcd_trouble.empty()) {
          etcd_trouble = redact(got.error().to_string());
          print_to(stderr, "drctl: warning: cannot read approvals from etcd: {}\n", etcd_trouble);
        } else if (got) {
          etcd_trouble.clear();
        }
      }
    }
    if (Clock::now() >= deadline) return finish({ApprovalDecision::Verdict::timed_out});
    cancel.sleep_until(std::min(deadline, Clock::now() + k_poll));
  }
}

}  // namespace drctl
