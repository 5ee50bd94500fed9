#include "clients/http_server.hpp"

#include <strings.h>

#include "clients/module.hpp"

namespace drctl {

std::string HttpServerRequest::header(const std::string& name) const {
  for (const auto& [key, value] : headers)
    if (::strcasecmp(key.c_str(), name.c_str()) == 0) return value;
  return "";
}

tl::expected<std::unique_ptr<HttpServer>, std::string> make_http_server(
    const HttpServerOptions& options, HttpServerHandler handler) {
  auto symbol = module_symbol("httpd", "drctl_http_server_v1");
  if (!symbol) return tl::unexpected(symbol.error());
  auto make = reinterpret_cast<MakeHttpServerFn>(*symbol);
  return std::unique_ptr<HttpServer>(make(options, std::move(handler)));
}

}  // namespace drctl
