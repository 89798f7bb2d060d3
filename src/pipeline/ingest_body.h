// The bodies of the ingest routes (docs/api.md "Ingest bodies") read into the
// pipeline's model types. Pure: no I/O and no store, so whether the device and
// the station exist is for ingest to decide, not for these parsers.
//
// Every refusal is Status::InvalidInput whose message starts with where the
// fault is: "reports[3].seqNumber: must be an integer 0..4095" in a batch,
// "seqNumber: ..." in a single report, "body: ..." or "reports[3]: ..." for a
// fault of the whole. Messages never quote the input (it may be anything, and
// the message goes back to the client and into the log).
//
// Common rules: the body is UTF-8 JSON (or a form for Sigfox callbacks); a
// member may appear once; unknown members are ignored, but must hold a scalar
// (reports are flat, so nothing nests deeper than an array of objects) and no
// string may contain NUL. Hex fields accept either case and are stored in the
// case the model documents.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/identifiers.h"
#include "core/status.h"
#include "model/enum_table.h"
#include "model/message.h"
#include "model/time.h"

namespace roost::pipeline {

inline constexpr size_t kMaxReportsPerRequest = 1000;

// The accepted ranges, inclusive. Signal values outside them are not radio
// measurements but faults of the station reporting them.
inline constexpr double kMinRssi = -200;  // dBm
inline constexpr double kMaxRssi = 0;
inline constexpr double kMinSnr = -50;  // dB
inline constexpr double kMaxSnr = 100;
inline constexpr int64_t kMaxFreq = 6'000'000'000;  // Hz
// 9999-12-31T23:59:59Z: a bound that also tells seconds from milliseconds, as
// any current time in milliseconds is far above it.
inline constexpr int64_t kMaxEpochSeconds = 253'402'300'799;
inline constexpr EpochMillis kMaxEpochMillis = kMaxEpochSeconds * 1000 + 999;
inline constexpr size_t kMaxDataBytes = 12;
// How far a report's time may be ahead of the server's clock. Stations'
// clocks drift a little; a time further ahead is a fault, which would make its
// device look alive until then (no communication loss could be raised) and
// keep its message first in every list. Times in the past are taken, as far
// back as messages are kept (CheckReportTimes): a station may report late.
inline constexpr EpochMillis kMaxTimeAheadMs = 10 * 60 * 1000;

// POST /api/ingest/uplink: one report object, or an array of 1 to
// kMaxReportsPerRequest of them. Members: device (hex ID), seqNumber (integer
// 0..4095), data (0..12 bytes of hex), time (epoch ms), station (4 hex
// digits), rssi and snr (JSON numbers) required; freq (integer Hz, default 0)
// and ack (bool, default false) optional, null meaning the default. Types are
// strict: "12" is not a number here.
//
// The hot path of ingest: reads straight from the text (simdjson On-Demand on
// a per-thread parser) and allocates only the result.
Result<std::vector<UplinkReport>> ParseUplinkReports(std::string_view body);

// POST /api/ingest/sigfox-callback: the body of a Sigfox Cloud DATA callback,
// as JSON (`content_type` application/json) or as form fields
// (application/x-www-form-urlencoded; percent escapes, '+' as space). Any
// other content type is refused. Required: device, time (epoch SECONDS, as
// Sigfox's {time} is; returned in ms), data, seqNumber, station, rssi, snr.
// Optional: freq, ack, and avgSnr, lat, lng, duplicate, which are checked but
// not kept (Roost computes the average and the location from its own
// receptions and its stations' positions, and de-duplicates by itself).
// Numbers may be JSON numbers or strings holding one ("-121.50"); booleans
// JSON booleans or "true"/"false".
Result<UplinkReport> ParseSigfoxCallbackBody(std::string_view body, std::string_view content_type);

// POST /api/ingest/service: one JSON object {device, type ("STATUS" or
// "ACKNOWLEDGE"), time (epoch ms), station, seqNumber (optional)} with, for
// STATUS, temp and batt (numbers) and, for ACKNOWLEDGE, downlinkAck (bool); a
// member of the other type is refused. Types are strict, as in uplinks.
Result<ServiceReport> ParseServiceReport(std::string_view body);

// POST /api/ingest/sigfox-service-callback: the body of a Sigfox Cloud SERVICE
// callback, JSON or form as ParseSigfoxCallbackBody. Required: device, time
// (epoch SECONDS, returned in ms), station; temp and batt (STATUS) or
// downlinkAck (ACKNOWLEDGE), which also tell the kind unless `type` says it.
// Optional: seqNumber (empty = none); duplicate, snr, rssi, avgSnr, lat, lng,
// infoCode, infoMessage are taken as any scalar and not kept. Numbers and
// booleans may be strings holding one.
Result<ServiceReport> ParseSigfoxServiceCallbackBody(std::string_view body,
                                                     std::string_view content_type);

// InvalidInput naming the first report whose time is more than
// kMaxTimeAheadMs past `now`, or, when `max_age_ms` > 0 (the message
// retention), more than that before `now`: its message would be purged by the
// next retention pass, maybe before its callbacks went out. "time: …" for a
// single report, "reports[i].time: …" in a batch (`in_batch`), as the parsers
// name a field.
Status CheckReportTimes(std::span<const UplinkReport> reports, bool in_batch, EpochMillis now,
                        int64_t max_age_ms);
Status CheckReportTime(const ServiceReport& report, EpochMillis now, int64_t max_age_ms);

}  // namespace roost::pipeline
