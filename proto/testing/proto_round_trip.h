// Test helper: fills every field of a message type (recursively, each oneof with its first
// member) with distinct non-default values and checks that the wire and text round trips give
// back an equal message. Test-only; not thread-safe with respect to the messages it is given.
#pragma once

#include <string>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace baton::proto_testing {

// Sets every field of `message` (nesting at most `max_depth` levels). For a oneof it sets the
// member at `oneof_choice` modulo the oneof's size, so callers can cover every member.
void FillAllFields(google::protobuf::Message* message, int oneof_choice = 0, int max_depth = 4);

// Serializes `message` to the binary and text formats and parses both back. Returns an empty
// string when both copies equal the original, else a description of the difference.
std::string RoundTripDifference(const google::protobuf::Message& message);

// Counts set fields (recursively); a fully filled message has one per field outside oneofs.
int CountSetFields(const google::protobuf::Message& message);

}  // namespace baton::proto_testing

namespace baton::proto_testing {

// For every message type declared in `file` and every oneof member, fills all fields, checks
// that every field outside the unchosen oneof members is set, and that both round trips give an
// equal message. Reports failures through GoogleTest. Returns the number of message types seen.
int ExpectEveryMessageRoundTrips(const google::protobuf::FileDescriptor* file);

}  // namespace baton::proto_testing
