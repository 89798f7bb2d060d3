// Fuzzes the bench journal parser: the journal is read back after crashes and
// power cuts, so a torn or garbage tail (or any other bytes) must never crash
// it, and what it accepts must keep the journal's invariants.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "factory/flashing_journal.h"

using roost::factory::JournalState;
using roost::factory::PairOutcome;
using roost::factory::ParseJournal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto state = ParseJournal(text);
  if (!state.ok()) {
    if (state.status().message().empty()) std::abort();
    return 0;
  }
  const JournalState& s = *state;
  if (s.valid_bytes > size || s.used() > s.binding.pairs) std::abort();
  if (!s.torn_tail && s.valid_bytes != size) std::abort();
  if (s.valid_bytes > 0 && text[s.valid_bytes - 1] != '\n') std::abort();
  for (size_t i = 0; i < s.pairs.size(); ++i) {
    const auto& p = s.pairs[i];
    if (p.index != i) std::abort();
    if (p.id.has_value() == (p.outcome == PairOutcome::kWithdrawn)) std::abort();
  }
  // The well-formed prefix replays to the same pairs, with no torn tail.
  auto prefix = ParseJournal(text.substr(0, s.valid_bytes));
  if (!prefix.ok() || prefix->torn_tail || prefix->used() != s.used()) std::abort();
  return 0;
}
