#include "clients/curl_api.hpp"

#include <dlfcn.h>
#include <fmt/format.h>

#include <mutex>

namespace drctl {
namespace {

template <typename Fn>
bool resolve(void* library, const char* name, Fn& slot, std::string& error) {
  slot = reinterpret_cast<Fn>(::dlsym(library, name));
  if (slot == nullptr && error.empty()) error = fmt::format("libcurl has no symbol {}", name);
  return slot != nullptr;
}

}  // namespace

const CurlApi& curl_api() {
  static const CurlApi api = [] {
    CurlApi a;
    // Lazy binding: libcurl and its ~30 libraries resolve a function on its first call, not
    // all at load (a minimal loader measured 7.0 against 9.2 ms; docs/performance.md).
    void* library = ::dlopen("libcurl.so.4", RTLD_LAZY | RTLD_LOCAL);
    if (library == nullptr) {
      a.error = fmt::format("cannot load libcurl.so.4 (install libcurl4): {}", ::dlerror());
      return a;
    }
    bool ok = resolve(library, "curl_global_init", a.global_init, a.error) &&
              resolve(library, "curl_easy_init", a.easy_init, a.error) &&
              resolve(library, "curl_easy_setopt", a.easy_setopt, a.error) &&
              resolve(library, "curl_easy_perform", a.easy_perform, a.error) &&
              resolve(library, "curl_easy_getinfo", a.easy_getinfo, a.error) &&
              resolve(library, "curl_easy_cleanup", a.easy_cleanup, a.error) &&
              resolve(library, "curl_easy_reset", a.easy_reset, a.error) &&
              resolve(library, "curl_easy_strerror", a.easy_strerror, a.error) &&
              resolve(library, "curl_slist_append", a.slist_append, a.error) &&
              resolve(library, "curl_slist_free_all", a.slist_free_all, a.error) &&
              resolve(library, "curl_share_init", a.share_init, a.error) &&
              resolve(library, "curl_share_setopt", a.share_setopt, a.error);
    if (ok) a.global_init(CURL_GLOBAL_DEFAULT);
    return a;
  }();
  return api;
}

namespace {
std::mutex g_share_locks[CURL_LOCK_DATA_LAST];
void lock_share(CURL*, curl_lock_data data, curl_lock_access, void*) {
  g_share_locks[data].lock();
}
void unlock_share(CURL*, curl_lock_data data, void*) {
  g_share_locks[data].unlock();
}
}  // namespace

CURLSH* curl_connection_pool() {
  static CURLSH* const pool = []() -> CURLSH* {
    const CurlApi& api = curl_api();
    if (!api.error.empty()) return nullptr;
    CURLSH* share = api.share_init();
    if (share == nullptr) return nullptr;
    api.share_setopt(share, CURLSHOPT_LOCKFUNC, lock_share);
    api.share_setopt(share, CURLSHOPT_UNLOCKFUNC, unlock_share);
    api.share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    api.share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    api.share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return share;
  }();
  return pool;
}

}  // namespace drctl
