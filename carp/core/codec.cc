#include "carp/core/codec.h"

#include <algorithm>

namespace hafw::carp {
namespace {

constexpr size_t kChecksumOffset = 6;
constexpr size_t kCounterOffset = 8;
constexpr size_t kHmacOffset = 16;

}  // namespace

uint16_t InternetChecksum(std::span<const uint8_t> bytes) {
  uint32_t sum = 0;
  size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) {
    sum += static_cast<uint32_t>(bytes[i]) << 8 | bytes[i + 1];
    // Fold as we go so that arbitrarily long inputs cannot overflow.
    sum = (sum & 0xffff) + (sum >> 16);
  }
  if (i < bytes.size()) {
    sum += static_cast<uint32_t>(bytes[i]) << 8;  // odd length: pad with a zero byte
    sum = (sum & 0xffff) + (sum >> 16);
  }
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

IpAddress CarpGroupAddress(IpFamily family) {
  if (family == IpFamily::kV4) return IpAddress::V4({224, 0, 0, 18});
  return IpAddress::V6({0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12});
}

tl::expected<Advertisement, DropReason> DecodeAdvertisement(std::span<const uint8_t> bytes) {
  if (bytes.size() < kAdvertisementSize) return tl::unexpected(DropReason::kShort);
  // Only the 36-byte header counts; trailing bytes are ignored like OpenBSD.
  const std::span<const uint8_t> header = bytes.first(kAdvertisementSize);
  if ((header[0] >> 4) != kCarpVersion) return tl::unexpected(DropReason::kBadVersion);
  // A correct checksum field makes the sum over the whole header come out as zero.
  if (InternetChecksum(header) != 0) return tl::unexpected(DropReason::kBadChecksum);
  return ReadAdvertisementFields(header.first<kAdvertisementSize>());
}

Advertisement ReadAdvertisementFields(std::span<const uint8_t, kAdvertisementSize> header) {
  Advertisement ad;
  ad.version = header[0] >> 4;
  ad.type = header[0] & 0x0f;
  ad.vhid = header[1];
  ad.advskew = header[2];
  ad.authlen = header[3];
  ad.demote = header[4];
  ad.advbase = header[5];
  ad.checksum = static_cast<uint16_t>(header[kChecksumOffset] << 8 | header[kChecksumOffset + 1]);
  ad.counter = 0;
  for (size_t i = 0; i < 8; ++i) ad.counter = ad.counter << 8 | header[kCounterOffset + i];
  std::copy_n(header.begin() + kHmacOffset, kHmacSize, ad.hmac.begin());
  return ad;
}

AdvertisementBytes EncodeAdvertisement(const Advertisement& ad) {
  AdvertisementBytes out{};
  out[0] = static_cast<uint8_t>((ad.version & 0x0f) << 4 | (ad.type & 0x0f));
  out[1] = ad.vhid;
  out[2] = ad.advskew;
  out[3] = ad.authlen;
  out[4] = ad.demote;
  out[5] = ad.advbase;
  for (size_t i = 0; i < 8; ++i) {
    out[kCounterOffset + i] = static_cast<uint8_t>(ad.counter >> (56 - 8 * i));
  }
  std::copy(ad.hmac.begin(), ad.hmac.end(), out.begin() + kHmacOffset);
  const uint16_t checksum = InternetChecksum(out);  // checksum field still zero
  out[kChecksumOffset] = static_cast<uint8_t>(checksum >> 8);
  out[kChecksumOffset + 1] = static_cast<uint8_t>(checksum);
  return out;
}

}  // namespace hafw::carp
