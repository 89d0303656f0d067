// Text the router sends is valid UTF-8 (proto3 `string` fields and JSON require it), whatever
// bytes a model's tokens decode to: a random or badly trained model can emit byte tokens that form
// no character.
//
// Thread-safe (pure function).
#pragma once

#include <string>
#include <string_view>

namespace baton::router {

// `text` with every byte that does not belong to a well-formed UTF-8 sequence (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF) replaced by U+FFFD.
std::string ValidUtf8(std::string_view text);

}  // namespace baton::router
