// Arbitrary bytes into the provisioning frame decoder. A frame that decodes
// must re-encode to exactly the same bytes; a frame that does not must come
// with an error message and a reason. Each input is also decoded once more
// with its MIC corrected, so that the fuzzer reaches the field parsing behind
// the MIC check.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "crypto/hash.h"
#include "provisioning/frames.h"

namespace {

using namespace roost::provisioning;

void Check(std::span<const uint8_t> input) {
  FrameError why = FrameError::kBadMic;
  auto message = DecodeFrame(input, &why);
  if (!message.ok()) {
    if (why == FrameError::kNone || message.status().message().empty()) std::abort();
    return;
  }
  if (why != FrameError::kNone) std::abort();
  const roost::Bytes again = EncodeFrame(*message);
  if (!std::equal(again.begin(), again.end(), input.begin(), input.end())) std::abort();
  if (TypeOf(*message) != static_cast<MessageType>(input[1])) std::abort();
  auto twice = DecodeFrame(again);
  if (!twice.ok() || !(*twice == *message)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  Check(input);
  if (size >= 1 + 1 + kMicSize) {
    roost::Bytes fixed(input.begin(), input.end());
    const auto mic = roost::crypto::Cmac(kFixedKey, std::span(fixed).first(size - kMicSize));
    std::copy_n(mic.begin(), kMicSize, fixed.end() - kMicSize);
    Check(fixed);
  }
  return 0;
}
