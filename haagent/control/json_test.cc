#include "haagent/control/json.h"

#include <cmath>
#include <limits>
#include <string>

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "haagent/control/json_test.pb.h"
#include "haagent/control/status_format.h"
#include "hafw/control/v1/control.pb.h"

namespace hafw::agent {
namespace {

using jsontest::AllKinds;

TEST(JsonTest, EmptyMessagePrintsEveryFieldWithoutPresence) {
  EXPECT_EQ(MessageToJson(AllKinds()),
            "{\n"
            "  \"i32\": 0,\n"
            "  \"i64\": 0,\n"
            "  \"u32\": 0,\n"
            "  \"u64\": 0,\n"
            "  \"s64\": 0,\n"
            "  \"f64\": 0,\n"
            "  \"d\": 0,\n"
            "  \"f\": 0,\n"
            "  \"b\": false,\n"
            "  \"s\": \"\",\n"
            "  \"raw\": \"\",\n"
            "  \"colour\": \"COLOUR_UNSPECIFIED\",\n"
            "  \"counts\": [],\n"
            "  \"inners\": [],\n"
            "  \"by_name\": {},\n"
            "  \"by_number\": {},\n"
            "  \"colours\": []\n"
            "}\n");
}

TEST(JsonTest, EveryKind) {
  AllKinds m;
  m.set_i32(-7);
  m.set_i64(-9007199254740993);
  m.set_u32(4294967295u);
  m.set_u64(18446744073709551615u);
  m.set_s64(-2);
  m.set_f64(3);
  m.set_d(1.390625);
  m.set_f(0.5F);
  m.set_b(true);
  m.set_s("a \"quoted\" \\ line\n\t\x01");
  m.set_raw(std::string("\x00\xff\x10hi", 5));
  m.set_colour(jsontest::COLOUR_RED);
  m.mutable_inner()->set_name("x");
  m.add_counts(1);
  m.add_counts(2);
  m.add_inners()->set_name("y");
  (*m.mutable_by_name())["zeta"] = 1;
  (*m.mutable_by_name())["alpha"] = 2;
  (*m.mutable_by_number())[10] = "ten";
  (*m.mutable_by_number())[-1] = "minus one";
  (*m.mutable_by_number())[9] = "nine";
  m.set_maybe(0);  // set, so printed although zero
  m.set_text("chosen");
  m.add_colours(jsontest::COLOUR_RED);
  m.add_colours(static_cast<jsontest::Colour>(7));  // unknown: the number
  EXPECT_EQ(MessageToJson(m),
            "{\n"
            "  \"i32\": -7,\n"
            "  \"i64\": -9007199254740993,\n"
            "  \"u32\": 4294967295,\n"
            "  \"u64\": 18446744073709551615,\n"
            "  \"s64\": -2,\n"
            "  \"f64\": 3,\n"
            "  \"d\": 1.390625,\n"
            "  \"f\": 0.5,\n"
            "  \"b\": true,\n"
            "  \"s\": \"a \\\"quoted\\\" \\\\ line\\n\\t\\u0001\",\n"
            "  \"raw\": \"AP8QaGk=\",\n"
            "  \"colour\": \"COLOUR_RED\",\n"
            "  \"inner\": {\n"
            "    \"name\": \"x\"\n"
            "  },\n"
            "  \"counts\": [\n"
            "    1,\n"
            "    2\n"
            "  ],\n"
            "  \"inners\": [\n"
            "    {\n"
            "      \"name\": \"y\"\n"
            "    }\n"
            "  ],\n"
            "  \"by_name\": {\n"
            "    \"alpha\": 2,\n"
            "    \"zeta\": 1\n"
            "  },\n"
            "  \"by_number\": {\n"
            "    \"-1\": \"minus one\",\n"
            "    \"9\": \"nine\",\n"
            "    \"10\": \"ten\"\n"
            "  },\n"
            "  \"maybe\": 0,\n"
            "  \"text\": \"chosen\",\n"
            "  \"colours\": [\n"
            "    \"COLOUR_RED\",\n"
            "    7\n"
            "  ]\n"
            "}\n");
}

TEST(JsonTest, Base64Padding) {
  auto raw = [](std::string_view bytes) {
    AllKinds m;
    m.set_raw(std::string(bytes));
    std::string json = MessageToJson(m);
    size_t at = json.find("\"raw\": ") + 7;
    return json.substr(at, json.find(',', at) - at);
  };
  EXPECT_EQ(raw("f"), "\"Zg==\"");
  EXPECT_EQ(raw("fo"), "\"Zm8=\"");
  EXPECT_EQ(raw("foo"), "\"Zm9v\"");
  EXPECT_EQ(raw("foob"), "\"Zm9vYg==\"");
}

TEST(JsonTest, NonFiniteFloatsAreStrings) {
  AllKinds m;
  m.set_d(std::numeric_limits<double>::quiet_NaN());
  m.set_f(-std::numeric_limits<float>::infinity());
  std::string json = MessageToJson(m);
  EXPECT_NE(json.find("\"d\": \"NaN\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"f\": \"-Infinity\""), std::string::npos) << json;
}

TEST(JsonTest, OneofMessageMember) {
  AllKinds m;
  m.mutable_nested();
  std::string json = MessageToJson(m);
  EXPECT_NE(json.find("\"nested\": {\n    \"name\": \"\"\n  }"), std::string::npos) << json;
  EXPECT_EQ(json.find("\"text\""), std::string::npos) << json;
}

// protobuf's own parser reads our output back to the same message: the JSON
// is valid and the names and values are protobuf's mapping.
TEST(JsonTest, ProtobufParsesItBack) {
  AllKinds m;
  m.set_u64(12345678901234);
  m.set_i64(-5);
  m.set_d(0.1);
  m.set_s("\xc3\xa9t\xc3\xa9");  // UTF-8 passes through
  m.set_raw("\x01\x02\x03");
  (*m.mutable_by_name())["k"] = 7;
  (*m.mutable_by_number())[3] = "three";
  m.add_inners()->set_name("n");
  m.mutable_nested()->set_name("z");
  AllKinds back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(MessageToJson(m), &back).ok());
  EXPECT_EQ(back.SerializeAsString(), m.SerializeAsString());
}

TEST(JsonTest, StatusCountersAreNumbers) {
  control::v1::StatusReply st;
  st.set_node("fw1");
  st.set_uptime_seconds(7.5);
  auto* v = st.add_vhosts();
  v->set_vhid(1);
  v->set_transitions(2);
  v->set_adverts_sent(3);
  (*v->mutable_drops())["bad_auth"] = 4;
  std::string json = FormatStatusJson(st);
  EXPECT_NE(json.find("\"transitions\": 2,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"adverts_sent\": 3,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"bad_auth\": 4"), std::string::npos) << json;
  EXPECT_NE(json.find("\"uptime_seconds\": 7.5,"), std::string::npos) << json;
  EXPECT_EQ(json.find("\"last_transition\""), std::string::npos) << json;  // not set
  control::v1::StatusReply back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &back).ok());
  EXPECT_EQ(back.vhosts(0).transitions(), 2u);
}

}  // namespace
}  // namespace hafw::agent
