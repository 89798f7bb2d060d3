#include "pipeline/delivery_destinations.h"

#include <map>
#include <optional>
#include <string>
#include <tuple>

#include "integration/callback_request.h"
#include "pipeline/attempt_log.h"

namespace roost::pipeline {
namespace {

// The attempt log without what each attempt's answer said ("<epoch ms>
// <status> <info>" lines keep their time and status): the sender's text names
// the host, port and address it reached.
void DropAttemptTexts(std::string& log) {
  std::string kept;
  ForEachAttempt(log, [&](int64_t time, int64_t status, std::string_view) {
    kept += std::to_string(time) + ' ' + std::to_string(status) + " \n";
  });
  log = std::move(kept);
}

}  // namespace

Status FillDestinations(storage::Store& store, std::span<Delivery> deliveries,
                        std::span<const Message> messages, const ShowDestination& show) {
  std::map<std::tuple<uint32_t, EpochMillis, int64_t>, const Message*> by_key;
  for (const Message& m : messages)
    by_key.emplace(std::tuple{m.device.value, m.time, m.seq_number}, &m);
  auto message_of = [&](const Delivery& d) -> const Message* {
    auto it = by_key.find({d.device, d.message_time, d.seq_number});
    return it == by_key.end() ? nullptr : it->second;
  };
  // A list holds few distinct callbacks: each is read and compiled once.
  struct Seen {
    std::optional<integration::CompiledCallback> compiled;  // when shown
    bool hidden = false;                                    // exists, and is another group's
  };
  std::map<std::string, Seen> compiled;
  for (Delivery& d : deliveries) {
    auto [it, fresh] = compiled.try_emplace(d.callback);
    if (fresh) {
      auto cb = store.GetCallback(d.callback);
      if (!cb.ok() && cb.status().code() != Status::Code::kNotFound) return cb.status();
      if (cb.ok() && show(*cb)) {
        auto c = integration::CompileCallback(*cb);
        if (c.ok()) it->second.compiled = std::move(*c);
      }
      it->second.hidden = cb.ok() && !it->second.compiled;
    }
    if (!it->second.compiled) {
      // Not the reader's to see (another group's callback, or one deleted
      // since): neither where it sends nor what its attempts' answers said,
      // which name the host, port and address reached; nor, when it is
      // another group's, which of its callbacks it was. Times and statuses
      // stay.
      if (it->second.hidden) d.callback.clear();
      d.last_info.clear();
      DropAttemptTexts(d.attempt_log);
      continue;
    }
    d.channel = it->second.compiled->channel();
    const integration::CompiledCallback& cb = *it->second.compiled;
    const Message* stored = cb.kind() == integration::CallbackKind::kDataUplink ||
                                    cb.kind() == integration::CallbackKind::kDataBidir
                                ? message_of(d)
                                : nullptr;
    if (stored != nullptr) {
      d.destination = cb.Destination(*stored, d);
      continue;
    }
    // What the dispatcher renders a SERVICE or ERROR delivery from.
    Message about;
    about.device = SigfoxId{d.device};
    about.time = d.message_time;
    about.seq_number = d.seq_number;
    d.destination = cb.Destination(about, d);
  }
  return Status::Ok();
}

}  // namespace roost::pipeline
