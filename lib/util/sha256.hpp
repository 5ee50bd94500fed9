#pragma once
// SHA-256 (FIPS 180-4), fed in pieces: what a preview shows of a text it does not print (a
// file too large, or not world-readable), comparable with `sha256sum`.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace drctl {

class Sha256 {
 public:
  Sha256();
  // Adds bytes to the message.
  void update(std::string_view bytes);
  // The digest of everything added, as 64 lowercase hex digits; the object is spent after it.
  std::string hex_digest();

 private:
  void block(const unsigned char* p);
  std::uint32_t m_h[8];
  unsigned char m_buffer[64] = {};
  std::size_t m_used = 0;
  std::uint64_t m_length = 0;  // bytes added
};

// The SHA-256 of `bytes`, as 64 lowercase hex digits.
std::string sha256_hex(std::string_view bytes);

}  // namespace drctl
