#pragma once
// The TLS client keys every network kind takes, declared once.
#include "core/field.hpp"

namespace drctl {

// The keys themselves, for reading them: spec.str(k_tls_ca). Inline, so a kind's own
// namespace-scope Fields may be built from them (they are initialized first).
inline const Field k_tls_ca = Field::string("ca", "CA bundle (PEM) to verify the server with.");
inline const Field k_tls_cert = Field::string("cert", "Client certificate (PEM), for mutual TLS.");
inline const Field k_tls_key = Field::string("key", "Client private key (PEM).");
inline const Field k_tls_insecure =
    Field::boolean("insecure", "Skip TLS verification (never in production).").defaults_to(false);

// ca, cert, key (PEM files) and, when `with_insecure`, insecure (skip verification).
inline Fields tls_client_fields(bool with_insecure = true) {
  Fields fields = {k_tls_ca, k_tls_cert, k_tls_key};
  if (with_insecure) fields.push_back(k_tls_insecure);
  return fields;
}

// Appends `extra` to `fields` (kind tables read as their own keys, then the shared ones).
inline Fields with_fields(Fields fields, const Fields& extra) {
  fields.insert(fields.end(), extra.begin(), extra.end());
  return fields;
}

}  // namespace drctl
