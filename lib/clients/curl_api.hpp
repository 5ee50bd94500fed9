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

// An easy handle that is cleaned up when it goes out of scope.
class CurlEasy {
 public:
  CurlEasy() : m_curl(curl_api().easy_init()) {}
  ~CurlEasy() {
    if (m_curl != nullptr) curl_api().easy_cleanup(m_curl);
  }
  CurlEasy(const CurlEasy&) = delete;
  CurlEasy& operator=(const CurlEasy&) = delete;
  CURL* get() const { return m_curl; }

 private:
  CURL* m_curl;
};

// A header list (or CURLOPT_CONNECT_TO list) freed when it goes out of scope.
class CurlList {
 public:
  CurlList() = default;
  ~CurlList() {
    if (m_list != nullptr) curl_api().slist_free_all(m_list);
  }
  CurlList(const CurlList&) = delete;
  CurlList& operator=(const CurlList&) = delete;
  void append(const std::string& line) { m_list = curl_api().slist_append(m_list, line.c_str()); }
  curl_slist* get() const { return m_list; }

 private:
  curl_slist* m_list = nullptr;
};

// The process's one connection pool: every easy handle that sets CURLOPT_SHARE to it shares
// open connections (keep-alive, HTTP/2), DNS answers and TLS sessions, so a connection made
// once (by a `prewarm` step, or any earlier request) is reused by later checks and steps.
// nullptr when libcurl is not loaded.
CURLSH* curl_connection_pool();

}  // namespace drctl
