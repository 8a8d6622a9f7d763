#include "haagent/control/json.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>

namespace hafw::agent {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

void AppendString(std::string_view s, std::string& out) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void AppendBase64(std::string_view bytes, std::string& out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out += '"';
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = (uint32_t{static_cast<uint8_t>(bytes[i])} << 16) |
                 (uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8) |
                 uint32_t{static_cast<uint8_t>(bytes[i + 2])};
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(n >> shift) & 63];
  }
  if (size_t rest = bytes.size() - i; rest > 0) {
    uint32_t n = uint32_t{static_cast<uint8_t>(bytes[i])} << 16;
    if (rest == 2) n |= uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  out += '"';
}

template <typename Float>
void AppendFloat(Float v, std::string& out) {
  if (std::isnan(v)) {
    out += "\"NaN\"";
  } else if (std::isinf(v)) {
    out += v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  } else {
    out += fmt::format("{}", v);
  }
}

class Printer {
 public:
  explicit Printer(std::string& out) : out_(out) {}

  void PrintMessage(const Message& m, int depth) {
    const Descriptor* d = m.GetDescriptor();
    const Reflection* r = m.GetReflection();
    std::vector<const FieldDescriptor*> fields;
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      // Fields with presence (messages, oneof members, proto3 optional)
      // appear when set; the others always, as protobuf's printer does with
      // always_print_primitive_fields.
      if (f->is_repeated() || !f->has_presence() || r->HasField(m, f)) fields.push_back(f);
    }
    if (fields.empty()) {
      out_ += "{}";
      return;
    }
    out_ += "{\n";
    for (size_t i = 0; i < fields.size(); ++i) {
      Indent(depth + 1);
      AppendString(fields[i]->name(), out_);
      out_ += ": ";
      PrintField(m, fields[i], depth + 1);
      out_ += i + 1 < fields.size() ? ",\n" : "\n";
    }
    Indent(depth);
    out_ += '}';
  }

 private:
  void Indent(int depth) { out_.append(static_cast<size_t>(depth) * 2, ' '); }

  void PrintField(const Message& m, const FieldDescriptor* f, int depth) {
    const Reflection* r = m.GetReflection();
    if (f->is_map()) return PrintMap(m, f, depth);
    if (!f->is_repeated()) return PrintValue(m, f, -1, depth);
    int n = r->FieldSize(m, f);
    if (n == 0) {
      out_ += "[]";
      return;
    }
    out_ += "[\n";
    for (int i = 0; i < n; ++i) {
      Indent(depth + 1);
      PrintValue(m, f, i, depth + 1);
      out_ += i + 1 < n ? ",\n" : "\n";
    }
    Indent(depth);
    out_ += ']';
  }

  // Map entries are messages {key, value}; JSON keys are strings, sorted by
  // the key's own order (numbers numerically).
  void PrintMap(const Message& m, const FieldDescriptor* f, int depth) {
    const Reflection* r = m.GetReflection();
    const FieldDescriptor* key = f->message_type()->map_key();
    const FieldDescriptor* value = f->message_type()->map_value();
    struct Entry {
      std::string text;
      int64_t signed_key = 0;
      uint64_t unsigned_key = 0;
      const Message* message = nullptr;
    };
    std::vector<Entry> entries;
    for (int i = 0; i < r->FieldSize(m, f); ++i) {
      const Message& e = r->GetRepeatedMessage(m, f, i);
      const Reflection* er = e.GetReflection();
      Entry entry;
      entry.message = &e;
      switch (key->cpp_type()) {
        case FieldDescriptor::CPPTYPE_STRING:
          entry.text = er->GetString(e, key);
          break;
        case FieldDescriptor::CPPTYPE_BOOL:
          entry.unsigned_key = er->GetBool(e, key) ? 1 : 0;
          entry.text = entry.unsigned_key != 0 ? "true" : "false";
          break;
        case FieldDescriptor::CPPTYPE_INT32:
        case FieldDescriptor::CPPTYPE_INT64:
          entry.signed_key = key->cpp_type() == FieldDescriptor::CPPTYPE_INT32
                                 ? er->GetInt32(e, key)
                                 : er->GetInt64(e, key);
          entry.text = std::to_string(entry.signed_key);
          break;
        default:  // the unsigned types: protobuf allows no other key types
          entry.unsigned_key = key->cpp_type() == FieldDescriptor::CPPTYPE_UINT32
                                   ? er->GetUInt32(e, key)
                                   : er->GetUInt64(e, key);
          entry.text = std::to_string(entry.unsigned_key);
          break;
      }
      entries.push_back(std::move(entry));
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return std::tie(a.signed_key, a.unsigned_key, a.text) <
             std::tie(b.signed_key, b.unsigned_key, b.text);
    });
    if (entries.empty()) {
      out_ += "{}";
      return;
    }
    out_ += "{\n";
    for (size_t i = 0; i < entries.size(); ++i) {
      Indent(depth + 1);
      AppendString(entries[i].text, out_);
      out_ += ": ";
      PrintValue(*entries[i].message, value, -1, depth + 1);
      out_ += i + 1 < entries.size() ? ",\n" : "\n";
    }
    Indent(depth);
    out_ += '}';
  }

  // One value of field `f`: the singular value when index < 0.
  void PrintValue(const Message& m, const FieldDescriptor* f, int index, int depth) {
    const Reflection* r = m.GetReflection();
    const bool one = index < 0;
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        out_ += std::to_string(one ? r->GetInt32(m, f) : r->GetRepeatedInt32(m, f, index));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        out_ += std::to_string(one ? r->GetInt64(m, f) : r->GetRepeatedInt64(m, f, index));
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        out_ += std::to_string(one ? r->GetUInt32(m, f) : r->GetRepeatedUInt32(m, f, index));
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        out_ += std::to_string(one ? r->GetUInt64(m, f) : r->GetRepeatedUInt64(m, f, index));
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        AppendFloat(one ? r->GetDouble(m, f) : r->GetRepeatedDouble(m, f, index), out_);
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
        AppendFloat(one ? r->GetFloat(m, f) : r->GetRepeatedFloat(m, f, index), out_);
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        out_ += (one ? r->GetBool(m, f) : r->GetRepeatedBool(m, f, index)) ? "true" : "false";
        break;
      case FieldDescriptor::CPPTYPE_ENUM: {
        int number = one ? r->GetEnumValue(m, f) : r->GetRepeatedEnumValue(m, f, index);
        const auto* value = f->enum_type()->FindValueByNumber(number);
        if (value != nullptr) {
          AppendString(value->name(), out_);
        } else {
          out_ += std::to_string(number);
        }
        break;
      }
      case FieldDescriptor::CPPTYPE_STRING: {
        std::string s = one ? r->GetString(m, f) : r->GetRepeatedString(m, f, index);
        if (f->type() == FieldDescriptor::TYPE_BYTES) {
          AppendBase64(s, out_);
        } else {
          AppendString(s, out_);
        }
        break;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        PrintMessage(one ? r->GetMessage(m, f) : r->GetRepeatedMessage(m, f, index), depth);
        break;
    }
  }

  std::string& out_;
};

}  // namespace

std::string MessageToJson(const Message& message) {
  std::string out;
  Printer(out).PrintMessage(message, 0);
  out += '\n';
  return out;
}

}  // namespace hafw::agent
