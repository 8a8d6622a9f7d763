// libFuzzer target: untrusted bytes as a sync stream (framing, protobuf,
// validation; statesync/wire/frame_decoder.h).
//
// The input is one stream from a peer, fed to two decoders: all at once, and
// in splits derived from the input's hash (so a crashing input replays the
// same splits). Both must yield the same frames and end the same way. Every
// frame they yield must re-encode (FrameEncoder accepts whatever the decoder
// passes), and the re-encoded stream must decode again to the same bytes.
// Finally a decoder reset after the stream must decode a valid frame.

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "statesync/wire/frame_decoder.h"
#include "statesync/wire/frame_encoder.h"

namespace hafw::statesync {
namespace {

// Deterministic split sizes from the input: FNV-1a seed, splitmix64 steps.
class Splits {
 public:
  explicit Splits(std::span<const uint8_t> data) {
    for (const uint8_t byte : data) state_ = (state_ ^ byte) * 0x100000001b3ULL;
  }
  size_t Next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    // Mostly small reads (1..16 bytes) to hit every boundary, sometimes large.
    const unsigned bits = (z & 3) == 0 ? 12 : 4;
    return 1 + ((z >> 8) & ((1U << bits) - 1));
  }

 private:
  uint64_t state_ = 0xcbf29ce484222325ULL;
};

struct Outcome {
  std::vector<uint8_t> reencoded;  // every decoded frame, encoded again
  size_t frames = 0;
  std::optional<WireDropReason> failure;
};

void Reencode(FrameEncoder& encoder, const SyncMessage& message, std::vector<uint8_t>& out) {
  const bool ok = std::visit(
      [&](const auto& value) { return encoder.Encode(value, out).has_value(); }, message);
  if (!ok) std::abort();  // the decoder passed something the encoder refuses
}

template <typename NextChunk>
Outcome Run(std::span<const uint8_t> stream, NextChunk next_chunk) {
  FrameDecoder decoder;
  FrameEncoder encoder;
  Outcome outcome;
  size_t at = 0;
  // Bounded: each pass consumes at least one byte of `stream`, and each inner
  // iteration either yields a frame (at least 5 bytes of it) or ends.
  while (at < stream.size() && !outcome.failure) {
    const size_t take = std::min(next_chunk(), stream.size() - at);
    std::span<const uint8_t> input = stream.subspan(at, take);
    at += take;
    while (true) {
      const DecodeStatus status = decoder.Decode(input);
      if (status == DecodeStatus::kNeedMore) break;
      if (status == DecodeStatus::kError) {
        outcome.failure = decoder.Failure();
        if (!outcome.failure || !input.empty()) std::abort();
        break;
      }
      ++outcome.frames;
      Reencode(encoder, decoder.Message(), outcome.reencoded);
    }
    if (!outcome.failure && !input.empty()) std::abort();  // kNeedMore left input behind
  }
  if (outcome.failure && decoder.Drops().Total() != 1) std::abort();
  if (!outcome.failure && decoder.Drops().Total() != 0) std::abort();

  // A reset decoder is a fresh one: a valid frame decodes.
  decoder.Reset();
  std::vector<uint8_t> ack;
  if (!encoder.Encode(Ack{7}, ack)) std::abort();
  std::span<const uint8_t> input(ack);
  if (decoder.Decode(input) != DecodeStatus::kFrame) std::abort();
  if (std::get<Ack>(decoder.Message()).applied_seq != 7) std::abort();
  return outcome;
}

}  // namespace
}  // namespace hafw::statesync

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using hafw::statesync::Outcome;
  using hafw::statesync::Run;
  using hafw::statesync::Splits;
  const std::span<const uint8_t> stream(data, size);

  const Outcome whole = Run(stream, [&] { return stream.size(); });
  Splits splits(stream);
  const Outcome split = Run(stream, [&] { return splits.Next(); });
  if (whole.frames != split.frames || whole.failure != split.failure ||
      whole.reencoded != split.reencoded) {
    std::abort();
  }

  // What the decoder accepted is canonical after one re-encoding.
  if (whole.frames > 0) {
    const Outcome again = Run(whole.reencoded, [&] { return whole.reencoded.size(); });
    if (again.failure || again.frames != whole.frames || again.reencoded != whole.reencoded) {
      std::abort();
    }
  }
  return 0;
}
