#include "core/json_place.h"

#include <nlohmann/json.hpp>

namespace roost {

namespace {

class StopPlace final : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception&) override {
    byte = position;
    return false;
  }
  std::optional<size_t> byte;  // 1-based, of the byte where reading stopped
};

}  // namespace

std::optional<size_t> JsonStopOffset(std::string_view text) {
  StopPlace place;
  (void)nlohmann::json::sax_parse(text.begin(), text.end(), &place);
  if (!place.byte) return std::nullopt;
  return std::min(*place.byte == 0 ? 0 : *place.byte - 1, text.size());
}

}  // namespace roost
