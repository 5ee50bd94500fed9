#include "clients/sql.hpp"

#include "clients/module.hpp"

namespace drctl {

tl::expected<SqlClient*, std::string> sql_client() {
  auto symbol = module_symbol("mysql", "drctl_sql_client_v1");
  if (!symbol) return tl::unexpected(symbol.error());
  return reinterpret_cast<SqlClient* (*)()>(*symbol)();
}

}  // namespace drctl
