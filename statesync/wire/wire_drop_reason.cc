#include "statesync/wire/wire_drop_reason.h"

namespace hafw::statesync {

std::string_view WireDropReasonName(WireDropReason reason) {
  switch (reason) {
    case WireDropReason::kZeroLength:
      return "zero_length";
    case WireDropReason::kOversizeFrame:
      return "oversize_frame";
    case WireDropReason::kParseError:
      return "parse_error";
    case WireDropReason::kNoBody:
      return "no_body";
    case WireDropReason::kMultipleBodies:
      return "multiple_bodies";
    case WireDropReason::kBadEnum:
      return "bad_enum";
    case WireDropReason::kValueOutOfRange:
      return "value_out_of_range";
    case WireDropReason::kBadAddressLength:
      return "bad_address_length";
    case WireDropReason::kMixedFamilies:
      return "mixed_families";
    case WireDropReason::kBadLabelsLength:
      return "bad_labels_length";
    case WireDropReason::kHelperNameTooLong:
      return "helper_name_too_long";
    case WireDropReason::kNodeNameTooLong:
      return "node_name_too_long";
    case WireDropReason::kBadName:
      return "bad_name";
    case WireDropReason::kBadDigestLength:
      return "bad_digest_length";
    case WireDropReason::kTooManyRecords:
      return "too_many_records";
    case WireDropReason::kBadBatchHeader:
      return "bad_batch_header";
    case WireDropReason::kDuplicateSeq:
      return "duplicate_seq";
    case WireDropReason::kSeqRegression:
      return "seq_regression";
    case WireDropReason::kCount:
      break;
  }
  return "unknown";
}

uint64_t WireDropCounters::Total() const {
  uint64_t total = 0;
  for (uint64_t count : counts) total += count;
  return total;
}

}  // namespace hafw::statesync
