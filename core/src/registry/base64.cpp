#include "base64.hpp"

#include <openssl/evp.h>

#include <cctype>

namespace berth::core::registry {

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  std::string norm;
  norm.reserve(text.size() + 3);
  std::size_t padding = 0;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding != 0) return make_error(Errc::invalid_argument, "base64: data after padding");
    if (c == '-') c = '+';
    if (c == '_') c = '/';
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/') {
      return make_error(Errc::invalid_argument, "base64: invalid character");
    }
    norm += c;
  }
  if (norm.size() % 4 == 1 || padding > 2)
    return make_error(Errc::invalid_argument, "base64: bad length");
  // EVP_DecodeBlock wants whole quads and counts padding as zero bytes.
  std::size_t pad = (4 - norm.size() % 4) % 4;
  norm.append(pad, '=');
  std::string out(norm.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(norm.data()),
                          static_cast<int>(norm.size()));
  if (n < 0) return make_error(Errc::invalid_argument, "base64: undecodable");
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

}  // namespace berth::core::registry
