#pragma once
// libcurl, loaded on first use. libcurl and the ~30 libraries it pulls in (TLS, Kerberos, LDAP,
// ...) cost ~7 ms at every process start on the reference machine (docs/performance.md): a
// price `drctl version` and `drctl validate` should not pay. So it is dlopen()ed, not linked.
#include <curl/curl.h>

#include <string>

namespace drctl {

struct CurlApi {
  decltype(&curl_global_init) global_init = nullptr;
  decltype(&curl_easy_init) easy_init = nullptr;
  decltype(&curl_easy_setopt) easy_setopt = nullptr;
  decltype(&curl_easy_perform) easy_perform = nullptr;
  decltype(&curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&curl_easy_reset) easy_reset = nullptr;
  decltype(&curl_easy_strerror) easy_strerror = nullptr;
  decltype(&curl_slist_append) slist_append = nullptr;
  decltype(&curl_slist_free_all) slist_free_all = nullptr;
  decltype(&curl_share_init) share_init = nullptr;
  decltype(&curl_share_setopt) share_setopt = nullptr;
  std::string error;  // why loading failed, if it did
};

// The loaded API (loaded once, thread-safely); check `error` before use.
const CurlApi& curl_api();

// The process's one connection pool: every easy handle that sets CURLOPT_SHARE to it shares
// open connections (keep-alive, HTTP/2), DNS answers and TLS sessions, so a connection made
// once (by a `prewarm` step, or any earlier request) is reused by later checks and steps.
// nullptr when libcurl is not loaded.
CURLSH* curl_connection_pool();

}  // namespace drctl
