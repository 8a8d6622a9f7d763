#include "common/ip_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace hafw {

std::string_view IpFamilyName(IpFamily family) { return family == IpFamily::kV4 ? "ipv4" : "ipv6"; }

Result<IpAddress> IpAddress::Parse(std::string_view text) {
  // inet_pton wants a NUL-terminated string; addresses are short.
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + std::string(text) + "' is not a valid IP address");
  }
  std::string buf(text);
  std::array<uint8_t, 16> bytes{};
  if (buf.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, buf.c_str(), bytes.data()) == 1) {
      return V4({bytes[0], bytes[1], bytes[2], bytes[3]});
    }
  } else if (inet_pton(AF_INET6, buf.c_str(), bytes.data()) == 1) {
    return V6(bytes);
  }
  return MakeError(ErrorCode::kInvalidArgument, "'" + buf + "' is not a valid IP address");
}

IpAddress IpAddress::V4(std::array<uint8_t, 4> bytes) {
  IpAddress a;
  a.family_ = IpFamily::kV4;
  std::copy(bytes.begin(), bytes.end(), a.bytes_.begin());
  return a;
}

IpAddress IpAddress::V4FromHostOrder(uint32_t value) {
  return V4({static_cast<uint8_t>(value >> 24), static_cast<uint8_t>(value >> 16),
             static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)});
}

IpAddress IpAddress::V6(std::array<uint8_t, 16> bytes) {
  IpAddress a;
  a.family_ = IpFamily::kV6;
  a.bytes_ = bytes;
  return a;
}

Result<IpAddress> IpAddress::FromBytes(std::span<const uint8_t> bytes) {
  if (bytes.size() == 4) return V4({bytes[0], bytes[1], bytes[2], bytes[3]});
  if (bytes.size() == 16) {
    std::array<uint8_t, 16> b{};
    std::copy(bytes.begin(), bytes.end(), b.begin());
    return V6(b);
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "an IP address has 4 or 16 bytes, not " + std::to_string(bytes.size()));
}

std::span<const uint8_t> IpAddress::Bytes() const {
  return {bytes_.data(), IsV4() ? size_t{4} : size_t{16}};
}

uint32_t IpAddress::V4HostOrder() const {
  return (uint32_t{bytes_[0]} << 24) | (uint32_t{bytes_[1]} << 16) | (uint32_t{bytes_[2]} << 8) |
         uint32_t{bytes_[3]};
}

bool IpAddress::IsUnspecified() const {
  auto b = Bytes();
  return std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; });
}

bool IpAddress::IsMulticast() const {
  return IsV4() ? (bytes_[0] & 0xf0) == 0xe0 : bytes_[0] == 0xff;
}

bool IpAddress::IsLoopback() const {
  if (IsV4()) return bytes_[0] == 127;
  static constexpr std::array<uint8_t, 16> kLoop{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return bytes_ == kLoop;
}

bool IpAddress::IsLinkLocal() const {
  if (IsV4()) return bytes_[0] == 169 && bytes_[1] == 254;
  return bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0x80;
}

bool IpAddress::IsScopeEmbedded() const {
  if (IsV4()) return false;
  if (IsLinkLocal()) return true;
  // ff01::/16 interface-local and ff02::/16 link-local multicast (scope nibble 1 or 2).
  return bytes_[0] == 0xff && ((bytes_[1] & 0x0f) == 0x01 || (bytes_[1] & 0x0f) == 0x02);
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(IsV4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof(buf));
  return buf;
}

std::strong_ordering operator<=>(const IpAddress& a, const IpAddress& b) {
  if (a.family_ != b.family_) {
    return a.IsV4() ? std::strong_ordering::less : std::strong_ordering::greater;
  }
  int c = std::memcmp(a.bytes_.data(), b.bytes_.data(), a.Bytes().size());
  return c < 0 ? std::strong_ordering::less
               : (c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal);
}

Result<IpPrefix> IpPrefix::Parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + std::string(text) + "' needs a prefix length (address/len)");
  }
  auto address = IpAddress::Parse(text.substr(0, slash));
  if (!address) return tl::unexpected(address.error());
  std::string_view len_text = text.substr(slash + 1);
  unsigned len = 0;
  auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (len_text.empty() || ec != std::errc{} || ptr != len_text.data() + len_text.size() ||
      len > MaxLength(address->Family())) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + std::string(text) + "' has an invalid prefix length (0.." +
                         std::to_string(MaxLength(address->Family())) + ")");
  }
  return IpPrefix{*address, static_cast<uint8_t>(len)};
}

bool IpPrefix::Contains(const IpAddress& other) const {
  if (other.Family() != address.Family()) return false;
  auto a = address.Bytes();
  auto b = other.Bytes();
  unsigned full = length / 8;
  unsigned rest = length % 8;
  if (!std::equal(a.begin(), a.begin() + full, b.begin())) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

std::string IpPrefix::ToString() const { return address.ToString() + "/" + std::to_string(length); }

}  // namespace hafw

size_t std::hash<hafw::IpAddress>::operator()(const hafw::IpAddress& a) const noexcept {
  size_t h = a.IsV4() ? 4 : 6;
  for (uint8_t b : a.Bytes()) h = h * 131 + b;
  return h;
}
