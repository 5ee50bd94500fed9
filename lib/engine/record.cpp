#include "engine/record.hpp"

#include <fmt/format.h>

#include <ctime>
#include <random>

#include "engine/exit_codes.hpp"

namespace drctl {

std::string_view phase_name(Phase phase) {
  switch (phase) {
    case Phase::check:
      return "check";
    case Phase::step:
      return "step";
    case Phase::rollback:
      return "rollback";
  }
  return "?";
}

std::string_view mode_name(Mode mode) {
  switch (mode) {
    case Mode::run:
      return "run";
    case Mode::dry_run:
      return "dry_run";
    case Mode::check:
      return "check";
    case Mode::rollback:
      return "rollback";
  }
  return "?";
}

std::string_view run_result_name(RunResult result) {
  switch (result) {
    case RunResult::success:
      return "success";
    case RunResult::checks_failed:
      return "checks_failed";
    case RunResult::rolled_back:
      return "rolled_back";
    case RunResult::partial:
      return "partial";
    case RunResult::sla_breached:
      return "sla_breached";
    case RunResult::interrupted:
      return "interrupted";
    case RunResult::lock_held:
      return "lock_held";
    case RunResult::lock_lost:
      return "lock_lost";
    case RunResult::journal_failed:
      return "journal_failed";
    case RunResult::not_verified:
      return "not_verified";
    case RunResult::declined:
      return "declined";
    case RunResult::would_refuse:
      return "would_refuse";
    case RunResult::unfinished:
      return "unfinished";
  }
  return "?";
}

int exit_code_for(RunResult result) {
  switch (result) {
    case RunResult::success:
      return k_exit_success;
    case RunResult::checks_failed:
      return k_exit_checks_failed;
    case RunResult::rolled_back:
      return k_exit_rolled_back;
    case RunResult::partial:
      return k_exit_partial;
    case RunResult::sla_breached:
      return k_exit_sla_breached;
    case RunResult::interrupted:
      return k_exit_interrupted;
    case RunResult::lock_held:
    case RunResult::lock_lost:
      return k_exit_lock_held;
    case RunResult::journal_failed:
      return k_exit_journal_failed;
    case RunResult::not_verified:
      return k_exit_not_verified;
    case RunResult::declined:
      return k_exit_declined;
    case RunResult::would_refuse:
      return k_exit_checks_failed;  // like a failed check: not ready, nothing was changed
    case RunResult::unfinished:
      return -1;
  }
  return k_exit_partial;
}

std::string new_run_id() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::random_device random;
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z-{:06x}", utc.tm_year + 1900, utc.tm_mon + 1,
                     utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, random() & 0xffffff);
}

}  // namespace drctl
