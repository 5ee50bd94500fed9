#pragma once
// The TLS client keys every network kind takes, declared once.
#include "core/field.hpp"

namespace drctl {

// ca, cert, key (PEM files) and, when `with_insecure`, insecure (skip verification).
inline Fields tls_client_fields(bool with_insecure = true) {
  Fields fields = {
      Field::string("ca", "CA bundle (PEM) to verify the server with."),
      Field::string("cert", "Client certificate (PEM), for mutual TLS."),
      Field::string("key", "Client private key (PEM)."),
  };
  if (with_insecure)
    fields.push_back(Field::boolean("insecure", "Skip TLS verification (never in production).")
                         .defaults_to(false));
  return fields;
}

// Appends `extra` to `fields` (kind tables read as their own keys, then the shared ones).
inline Fields with_fields(Fields fields, const Fields& extra) {
  fields.insert(fields.end(), extra.begin(), extra.end());
  return fields;
}

}  // namespace drctl
