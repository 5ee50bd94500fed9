#include "clients/curl_api.hpp"

#include <dlfcn.h>
#include <fmt/format.h>

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
    void* library = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
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
              resolve(library, "curl_easy_strerror", a.easy_strerror, a.error) &&
              resolve(library, "curl_slist_append", a.slist_append, a.error) &&
              resolve(library, "curl_slist_free_all", a.slist_free_all, a.error);
    if (ok) a.global_init(CURL_GLOBAL_DEFAULT);
    return a;
  }();
  return api;
}


}  // namespace drctl
