#pragma once

// The JSON of every `--json` output: protobuf's JSON mapping with the proto
// field names (snake_case) and every field without presence printed (zeros,
// empty lists and maps included), except that 64-bit integers are JSON
// numbers, not strings. Consumers that read numbers as doubles (jq,
// JavaScript) are exact up to 2^53, which no counter of ours reaches.
//
// Mapping: bool -> true/false; integers -> numbers; float/double -> numbers
// (shortest text that reads back exactly; NaN and infinities as the strings
// "NaN", "Infinity", "-Infinity"); strings -> strings; bytes -> base64
// strings; enums -> value names (the number when unknown); messages ->
// objects, printed only when set; repeated -> arrays; maps -> objects sorted
// by key. Well-known types (Timestamp, Any, ...) are printed as plain
// messages: the control API uses none.

#include <string>

#include <google/protobuf/message.h>

namespace hafw::agent {

// Indented by two spaces, ending in a newline.
std::string MessageToJson(const google::protobuf::Message& message);

}  // namespace hafw::agent
