#include "router/json_fields.h"

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::router {
namespace {

using ::baton::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;
using Json = nlohmann::json;

TEST(ParseJsonObjectTest, AcceptsAnObject) {
  ASSERT_OK_AND_ASSIGN(Json body, ParseJsonObject(R"({"a": 1})"));
  EXPECT_EQ(body["a"], 1);
}

TEST(ParseJsonObjectTest, RejectsMalformedJsonWithTheParsersReason) {
  EXPECT_THAT(ParseJsonObject(R"({"a": )"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr("malformed JSON"), HasSubstr("column"),
                                        ::testing::Not(HasSubstr("json.exception")))));
  EXPECT_THAT(ParseJsonObject(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseJsonObject("\xff"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ParseJsonObjectTest, RejectsOtherJsonValues) {
  EXPECT_THAT(ParseJsonObject("[1, 2]"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must be a JSON object")));
  EXPECT_THAT(ParseJsonObject("\"text\""), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(DumpJsonTest, ReplacesInvalidUtf8InsteadOfThrowing) {
  EXPECT_EQ(DumpJson(Json{{"t", "a\xff"}}), "{\"t\":\"a\xEF\xBF\xBD\"}");
  EXPECT_EQ(DumpJson(Json{{"t", "é"}}), "{\"t\":\"é\"}");
}

TEST(FieldErrorTest, CarriesTheFieldName) {
  const absl::Status error = FieldError("messages[1].role", "'messages[1].role' is required");
  EXPECT_THAT(error,
              StatusIs(absl::StatusCode::kInvalidArgument, "'messages[1].role' is required"));
  EXPECT_THAT(FieldOf(error), Optional(std::string("messages[1].role")));
  EXPECT_EQ(FieldOf(absl::InvalidArgumentError("x")), std::nullopt);
  EXPECT_EQ(FieldOf(absl::OkStatus()), std::nullopt);
}

TEST(JsonObjectReaderTest, AbsentAndNullReadAsUnset) {
  const Json body = Json::parse(R"({"a": null})");
  const JsonObjectReader reader(body);
  for (const char* key : {"a", "missing"}) {
    // value() throws on an error status, which GoogleTest reports as a failure.
    EXPECT_EQ(reader.String(key).value(), std::nullopt);
    EXPECT_EQ(reader.Bool(key).value(), std::nullopt);
    EXPECT_EQ(reader.Number(key).value(), std::nullopt);
    EXPECT_EQ(reader.Int32(key).value(), std::nullopt);
    EXPECT_EQ(reader.Int64(key).value(), std::nullopt);
    EXPECT_EQ(reader.StringList(key).value(), std::nullopt);
    EXPECT_EQ(reader.Object(key).value(), nullptr);
    EXPECT_EQ(reader.Array(key).value(), nullptr);
  }
}

TEST(JsonObjectReaderTest, ReadsEachType) {
  const Json body = Json::parse(
      R"({"s": "x", "b": true, "f": 0.5, "i": -3, "big": 5000000000, "o": {}, "l": [1]})");
  const JsonObjectReader reader(body);
  EXPECT_THAT(reader.String("s").value(), Optional(std::string("x")));
  EXPECT_THAT(reader.Bool("b").value(), Optional(true));
  EXPECT_THAT(reader.Number("f").value(), Optional(0.5));
  EXPECT_THAT(reader.Number("i").value(), Optional(-3.0));
  EXPECT_THAT(reader.Int32("i").value(), Optional(-3));
  EXPECT_THAT(reader.Int64("big").value(), Optional(5000000000));
  EXPECT_TRUE(reader.Object("o").value()->is_object());
  EXPECT_TRUE(reader.Array("l").value()->is_array());
}

TEST(JsonObjectReaderTest, WrongTypesNameTheFieldAndTheType) {
  const Json body = Json::parse(R"({"n": "5", "s": 5, "b": 1, "o": [], "l": {}})");
  const JsonObjectReader reader(body);
  EXPECT_THAT(reader.Number("n"),
              StatusIs(absl::StatusCode::kInvalidArgument, "'n' must be a number"));
  EXPECT_THAT(reader.Int32("n"),
              StatusIs(absl::StatusCode::kInvalidArgument, "'n' must be a 32-bit integer"));
  EXPECT_THAT(reader.Int64("n"),
              StatusIs(absl::StatusCode::kInvalidArgument, "'n' must be an integer"));
  EXPECT_THAT(reader.String("s"),
              StatusIs(absl::StatusCode::kInvalidArgument, "'s' must be a string"));
  EXPECT_THAT(reader.Bool("b"),
              StatusIs(absl::StatusCode::kInvalidArgument, "'b' must be a boolean"));
  EXPECT_THAT(reader.Object("o"),
              StatusIs(absl::StatusCode::kInvalidArgument, "'o' must be an object"));
  EXPECT_THAT(reader.Array("l"),
              StatusIs(absl::StatusCode::kInvalidArgument, "'l' must be an array"));
  EXPECT_THAT(FieldOf(reader.Bool("b").status()), Optional(std::string("b")));
}

TEST(JsonObjectReaderTest, IntegersMayBeWrittenAsWholeDoublesAndMustFit) {
  const Json body = Json::parse(
      R"({"whole": 100.0, "frac": 1.5, "over32": 2147483648, "under32": -2147483649,
          "max32": 2147483647, "over64": 18446744073709551615, "neg64": -9223372036854775808})");
  const JsonObjectReader reader(body);
  EXPECT_THAT(reader.Int32("whole").value(), Optional(100));
  EXPECT_THAT(reader.Int32("frac"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(reader.Int64("frac"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(reader.Int32("over32"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(reader.Int32("under32"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(reader.Int32("max32").value(), Optional(2147483647));
  EXPECT_THAT(reader.Int64("over32").value(), Optional(2147483648));
  EXPECT_THAT(reader.Int64("over64"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(reader.Int64("neg64").value(), Optional(INT64_MIN));
}

TEST(JsonObjectReaderTest, StringListTakesAStringOrAnArrayOfStrings) {
  const Json body = Json::parse(R"({"one": "a", "many": ["a", "b"], "empty": [], "mixed": ["a", 1],
                                    "number": 3})");
  const JsonObjectReader reader(body);
  EXPECT_THAT(reader.StringList("one").value(), Optional(ElementsAre("a")));
  EXPECT_THAT(reader.StringList("many").value(), Optional(ElementsAre("a", "b")));
  EXPECT_THAT(reader.StringList("empty").value(), Optional(ElementsAre()));
  EXPECT_THAT(reader.StringList("mixed"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "'mixed' must be a string or an array of strings"));
  EXPECT_THAT(reader.StringList("number"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(JsonObjectReaderTest, NestedObjectsNameFieldsByPath) {
  const Json body = Json::parse(R"({"temperature": "hot"})");
  const JsonObjectReader reader(body, "options");
  EXPECT_EQ(reader.FieldName("temperature"), "options.temperature");
  EXPECT_THAT(reader.Number("temperature"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                     "'options.temperature' must be a number"));
  EXPECT_THAT(FieldOf(reader.Number("temperature").status()),
              Optional(std::string("options.temperature")));
}

TEST(JsonObjectReaderTest, ANonObjectReadsAsEmpty) {
  const Json body = Json::parse("[1, 2]");
  EXPECT_EQ(JsonObjectReader(body).Find("a"), nullptr);
}

}  // namespace
}  // namespace baton::router
