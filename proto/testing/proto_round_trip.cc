#include "proto/testing/proto_round_trip.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"

namespace baton::proto_testing {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Distinct value per field so swapped fields do not compare equal.
void SetScalar(Message* message, const FieldDescriptor* field, int salt) {
  const Reflection* r = message->GetReflection();
  const int v = field->number() * 7 + salt + 1;
  const bool repeated = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      repeated ? r->AddInt32(message, field, -v) : r->SetInt32(message, field, -v);
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      repeated ? r->AddInt64(message, field, -(int64_t{v} << 33))
               : r->SetInt64(message, field, -(int64_t{v} << 33));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      repeated ? r->AddUInt32(message, field, v) : r->SetUInt32(message, field, v);
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      repeated ? r->AddUInt64(message, field, static_cast<uint64_t>(v) << 40)
               : r->SetUInt64(message, field, static_cast<uint64_t>(v) << 40);
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      repeated ? r->AddFloat(message, field, v + 0.25f) : r->SetFloat(message, field, v + 0.25f);
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      repeated ? r->AddDouble(message, field, v + 0.125) : r->SetDouble(message, field, v + 0.125);
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      repeated ? r->AddBool(message, field, true) : r->SetBool(message, field, true);
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* type = field->enum_type();
      const auto* value = type->value(type->value_count() - 1 - salt % type->value_count());
      if (value->number() == 0 && type->value_count() > 1) value = type->value(1);
      repeated ? r->AddEnum(message, field, value) : r->SetEnum(message, field, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s = field->name() + "-\xE2\x96\x81\xF0\x9F\x99\x82-" + std::to_string(v);
      if (field->type() == FieldDescriptor::TYPE_BYTES) s.push_back('\0');
      repeated ? r->AddString(message, field, s) : r->SetString(message, field, s);
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
}

}  // namespace

void FillAllFields(Message* message, int oneof_choice, int max_depth) {
  const auto* descriptor = message->GetDescriptor();
  const Reflection* r = message->GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (const auto* oneof = field->real_containing_oneof(); oneof != nullptr) {
      if (oneof->field(oneof_choice % oneof->field_count()) != field) continue;
    }
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (max_depth <= 0) continue;
      const int copies = field->is_repeated() ? 2 : 1;
      for (int c = 0; c < copies; ++c) {
        Message* child = field->is_repeated() ? r->AddMessage(message, field)
                                              : r->MutableMessage(message, field);
        FillAllFields(child, oneof_choice, max_depth - 1);
      }
      continue;
    }
    SetScalar(message, field, 0);
    if (field->is_repeated()) SetScalar(message, field, 1);
  }
}

std::string RoundTripDifference(const Message& message) {
  std::string wire;
  if (!message.SerializeToString(&wire)) return "SerializeToString failed";
  std::unique_ptr<Message> from_wire(message.New());
  if (!from_wire->ParseFromString(wire)) return "ParseFromString failed";
  std::string report;
  google::protobuf::util::MessageDifferencer differ;
  differ.ReportDifferencesToString(&report);
  if (!differ.Compare(message, *from_wire)) return "wire round trip differs: " + report;

  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(message, &text)) return "text print failed";
  std::unique_ptr<Message> from_text(message.New());
  if (!google::protobuf::TextFormat::ParseFromString(text, from_text.get())) {
    return "text parse failed";
  }
  google::protobuf::util::MessageDifferencer text_differ;
  report.clear();
  text_differ.ReportDifferencesToString(&report);
  if (!text_differ.Compare(message, *from_text)) return "text round trip differs: " + report;
  return "";
}

int CountSetFields(const Message& message) {
  std::vector<const FieldDescriptor*> fields;
  message.GetReflection()->ListFields(message, &fields);
  int count = static_cast<int>(fields.size());
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || field->is_repeated()) continue;
    count += CountSetFields(message.GetReflection()->GetMessage(message, field));
  }
  return count;
}

}  // namespace baton::proto_testing

#include "gtest/gtest.h"

namespace baton::proto_testing {

int ExpectEveryMessageRoundTrips(const google::protobuf::FileDescriptor* file) {
  auto* factory = google::protobuf::MessageFactory::generated_factory();
  for (int m = 0; m < file->message_type_count(); ++m) {
    const auto* descriptor = file->message_type(m);
    int widest_oneof = 1;
    int expected_top_level = descriptor->field_count();
    for (int o = 0; o < descriptor->oneof_decl_count(); ++o) {
      const auto* oneof = descriptor->oneof_decl(o);
      if (oneof->is_synthetic()) continue;  // proto3 `optional`
      widest_oneof = std::max(widest_oneof, oneof->field_count());
      expected_top_level -= oneof->field_count() - 1;
    }
    for (int choice = 0; choice < widest_oneof; ++choice) {
      const Message* prototype = factory->GetPrototype(descriptor);
      EXPECT_NE(prototype, nullptr) << descriptor->full_name();
      if (prototype == nullptr) continue;
      std::unique_ptr<Message> message(prototype->New());
      FillAllFields(message.get(), choice);
      std::vector<const FieldDescriptor*> set;
      message->GetReflection()->ListFields(*message, &set);
      EXPECT_EQ(static_cast<int>(set.size()), expected_top_level)
          << descriptor->full_name() << " oneof choice " << choice;
      EXPECT_EQ(RoundTripDifference(*message), "")
          << descriptor->full_name() << " oneof choice " << choice;
    }
  }
  return file->message_type_count();
}

}  // namespace baton::proto_testing
