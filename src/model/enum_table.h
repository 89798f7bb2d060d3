// How the API spells the model's enumerations. Each enumeration has one table
// (beside the enum) of {value, name, code}: `name` is what Roost writes and
// reads, `code` the integer the Sigfox API uses for it, read too so that Sigfox
// API clients work unchanged. Both directions (parsing a body, writing an
// object) go through these lookups, so a name or code is declared once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace roost {

template <typename E>
struct EnumEntry {
  E value;
  std::string_view name;
  int64_t code;
  // False for values the Sigfox API knows but Roost does not support yet: they
  // are recognised (so the refusal can say why) but never stored.
  bool supported = true;
};

template <typename E, size_t N>
using EnumTable = std::array<EnumEntry<E>, N>;

// Exact, case-sensitive match: the API's names are fixed spellings.
template <typename E, size_t N>
constexpr const EnumEntry<E>* EnumByName(const EnumTable<E, N>& table, std::string_view name) {
  for (const auto& e : table) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

template <typename E, size_t N>
constexpr const EnumEntry<E>* EnumByCode(const EnumTable<E, N>& table, int64_t code) {
  for (const auto& e : table) {
    if (e.code == code) return &e;
  }
  return nullptr;
}

// Every value of E has an entry (a unit test checks each table), so this only
// returns the first entry for a value outside the enumeration.
template <typename E, size_t N>
constexpr const EnumEntry<E>& EnumByValue(const EnumTable<E, N>& table, E value) {
  for (const auto& e : table) {
    if (e.value == value) return e;
  }
  return table[0];
}

// "DIRECT (0), CALLBACK (1) or NONE (2)": the supported entries, for messages.
template <typename E, size_t N>
std::string EnumChoices(const EnumTable<E, N>& table) {
  std::string out;
  size_t left = 0;
  for (const auto& e : table) left += e.supported ? 1 : 0;
  for (const auto& e : table) {
    if (!e.supported) continue;
    --left;
    out += std::string(e.name) + " (" + std::to_string(e.code) + ")";
    if (left > 1) out += ", ";
    if (left == 1) out += " or ";
  }
  return out;
}

}  // namespace roost
