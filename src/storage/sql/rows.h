// Row mapping of the store's tables, written once for both engines: the column
// lists of the SELECTs and the functions that read a row of them.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "storage/driver/driver.h"
#include "storage/store.h"

namespace roost::storage::sql {

// In this order: DeviceFromRow reads them, BindDevice binds $1..$21.
inline constexpr const char* kDeviceColumns =
    "id, name, type_id, group_id, pac, product_certificate, lat, lng, activation_time, state, "
    "token_renew_forbidden, last_time, average_snr, average_rssi, sequence_number, "
    "creation_time, dev_eui, join_eui, provision_id, serial_number, model";
inline constexpr const char* kGroupSelect =
    "SELECT id, name, parent, tree, creation_time, description FROM groups";
inline constexpr const char* kUserSelect =
    "SELECT id, group_id, email, name, timezone, password_hash, roles, creation_time, "
    "update_time FROM users";
inline constexpr const char* kApiUserSelect =
    "SELECT login, name, group_id, password_hash, roles, creation_time FROM api_users";
inline constexpr const char* kUserTokenColumns = "token_hash, user_id, expires, creation_time";
inline constexpr const char* kDeviceTypeSelect =
    "SELECT id, name, description, group_id, keep_alive, alert_email, payload_type, "
    "payload_config, downlink_mode, downlink_data_string, automatic_renewal, creation_time, "
    "update_time FROM device_types";
inline constexpr const char* kCertificateSelect =
    "SELECT cert_key, manufacturer, product_name, revision, link, notes, creation_time, "
    "update_time FROM product_certificates";
// Rows owned by a group of a subtree: $1 and $2 are its bounds of the tree column.
inline constexpr const char* kInSubtreeGroups =
    " WHERE group_id IN (SELECT id FROM groups WHERE tree >= $1 AND tree < $2)";

// In this order: MessageFromRow reads them.
inline constexpr const char* kMessageColumns =
    "device_id, time, seq_number, type_id, group_id, data, decoded, rinfos, nb_frames, ack, "
    "location_lat, location_lng, location_radius, link_quality, undecoded, downlink_data, "
    "downlink_station, downlink_ack, downlink_info";
Message MessageFromRow(const driver::Query& q);  // messages.cpp

// Rows found by message keys. `select` is "SELECT … FROM <table>", whose
// `device`, `time` and `seq` columns are indexed together; the statements are
// built once (a static MessageKeysQuery) and ForEach takes each key once, in
// any order, and calls `row` for every row found, in no particular order.
// SQLite's statement is an OR of 32 equalities on all
// three columns (the last statement repeats its last key); PostgreSQL's joins
// the keys bound as three arrays, all in one statement, since a BitmapOr of
// many index lookups costs it more than one nested loop over them.
class MessageKeysQuery {
 public:
  MessageKeysQuery(std::string_view select, std::string_view device, std::string_view time,
                   std::string_view seq);
  Status ForEach(driver::Connection& c, const char* op, std::span<const MessageCursor> keys,
                 const std::function<void(const driver::Query&)>& row) const;

 private:
  std::string or_of_keys_;   // SQLite
  std::string join_arrays_;  // PostgreSQL
};

// In this order: CallbackFromRow reads them.
inline constexpr const char* kCallbackSelect =
    "SELECT id, type_id, channel, callback_type, subtype, url, http_method, headers, "
    "content_type, body_template, line_pattern, recipient, subject, message, send_duplicate, "
    "payload_config, enabled, downlink_hook, dead, creation_time FROM callbacks";
// Opens the sealed columns (url, headers) with `sealer` (sealed_column.h).
Callback CallbackFromRow(const driver::Query& q, const crypto::Sealer* sealer);  // callbacks.cpp

Device DeviceFromRow(const driver::Query& q);
// Binds $1..$21 in kDeviceColumns order (without creation_time: $1..$20); text by
// reference (`d` must outlive the run).
void BindDevice(driver::Query& q, const Device& d, bool with_creation_time = true);
// The same values as one row of a bulk insert.
void WriteDevice(driver::RowWriter& out, const Device& d);
// The columns of WriteDevice.
std::span<const driver::Column> DeviceInsertColumns();

Group GroupFromRow(const driver::Query& q);
User UserFromRow(const driver::Query& q);
ApiUser ApiUserFromRow(const driver::Query& q);
UserToken UserTokenFromRow(const driver::Query& q);
DeviceType DeviceTypeFromRow(const driver::Query& q);
// Binds $1..$13 in kDeviceTypeSelect order.
void BindDeviceType(driver::Query& q, const DeviceType& t);
ProductCertificate CertificateFromRow(const driver::Query& q);

}  // namespace roost::storage::sql
