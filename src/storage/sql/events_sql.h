// Queries of the silence watcher (events.cpp, SqlStore::WatchSilence) that
// its tests also run under EXPLAIN: each pass must find the devices that fell
// silent or spoke again through the partial indexes devices_silence and
// devices_spoken_again (migrations 0012, 0027), never by reading every device of the
// type, so that a pass costs what it finds, not the size of the fleet.
#pragma once

namespace roost::storage::sql {

// A type's devices heard from (or registered) last before $2 and not yet
// lost, oldest first, at most $3 ($1: the type). The ORDER BY follows the
// partial index, so the read stops at the limit.
inline constexpr char kSilentDevicesSql[] =
    "SELECT id, group_id, COALESCE(last_time, creation_time), last_time FROM "
    "devices WHERE type_id = $1 AND comm_lost = 0 AND "
    "COALESCE(last_time, creation_time) < $2 "
    "ORDER BY COALESCE(last_time, creation_time) LIMIT $3";

// A type's lost devices that have spoken since their loss was recorded, at
// most $2 (the WHERE is devices_spoken_again's).
inline constexpr char kSpokenAgainSql[] =
    "SELECT id, group_id, last_time FROM devices WHERE type_id = $1 AND "
    "comm_lost = 1 AND last_time > comm_lost_since ORDER BY last_time LIMIT $2";

}  // namespace roost::storage::sql
