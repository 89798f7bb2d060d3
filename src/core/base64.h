// Base64 (RFC 4648 section 4, standard alphabet, with padding). Pure.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace roost {

std::string EncodeBase64(std::string_view bytes);
// Rejects anything but canonical padded base64; the error names the position.
Result<std::string> DecodeBase64(std::string_view text);

}  // namespace roost
