// Queries of the Provision ID store (provisioning.cpp) that its tests also run
// under EXPLAIN: each must reach provision_ids through the partial unique
// indexes on fixed_dev_eui and dev_eui (migration 0015, WHERE ... <> ''). A
// plain "fixed_dev_eui = $1 OR dev_eui = $1" cannot use them (neither engine
// proves from a bound parameter that it is not ''), so it scans the whole table
// for every devEUI a pool hands out; each side of the OR therefore repeats its
// index's condition.
#pragma once

#include <string>

namespace roost::storage::sql {

// Whether a devEUI is some row's fixed or assigned devEUI ($1: the EUI, never '').
inline constexpr char kDevEuiTakenSql[] =
    "SELECT 1 FROM provision_ids WHERE (fixed_dev_eui = $1 AND fixed_dev_eui <> '') OR "
    "(dev_eui = $1 AND dev_eui <> '')";

// The stored rows whose fixed or assigned devEUI is one of an import's fixed
// devEUIs; `placeholders` lists them ("$1, $2"), each bound once and used twice.
inline std::string FixedDevEuiClashesSql(const std::string& placeholders) {
  return "SELECT fixed_dev_eui, dev_eui FROM provision_ids WHERE (fixed_dev_eui IN (" +
         placeholders + ") AND fixed_dev_eui <> '') OR (dev_eui IN (" + placeholders +
         ") AND dev_eui <> '')";
}

}  // namespace roost::storage::sql
