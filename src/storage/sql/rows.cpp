#include "storage/sql/rows.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include "storage/internal.h"

namespace roost::storage::sql {

using internal::PathFromTree;
using internal::SplitRoles;

Device DeviceFromRow(const driver::Query& q) {
  Device d;
  d.id.value = static_cast<uint32_t>(q.Int(0));
  d.name = q.Text(1);
  d.type = q.Text(2);
  d.group = q.Text(3);
  d.pac = q.Text(4);
  d.product_certificate = q.Text(5);
  d.lat = q.OptDouble(6);
  d.lng = q.OptDouble(7);
  d.activation_time = q.OptInt(8);
  d.state = static_cast<DeviceState>(q.Int(9));
  d.token_renew_forbidden = q.Int(10) != 0;
  d.last = q.OptInt(11);
  d.average_snr = q.OptDouble(12);
  d.average_rssi = q.OptDouble(13);
  d.sequence_number = q.OptInt(14);
  d.creation_time = q.Int(15);
  d.dev_eui = q.Text(16);
  d.join_eui = q.Text(17);
  d.provision_id = q.Text(18);
  d.serial_number = q.Text(19);
  d.model = q.Text(20);
  return d;
}

namespace {
// Binds the values of a row to $1, $2... of a Query, leaving out the value of
// column `skip` (0-based; -1 = none).
class QueryWriter final : public driver::RowWriter {
 public:
  QueryWriter(driver::Query& q, int skip) : q_(q), skip_(skip) {}
  void Text(std::string_view v) override {
    if (Take()) q_.BindRef(i_, v);
  }
  void Int(int64_t v) override {
    if (Take()) q_.Bind(i_, v);
  }
  void Int(std::optional<int64_t> v) override {
    if (Take()) q_.Bind(i_, v);
  }
  void Double(std::optional<double> v) override {
    if (Take()) q_.Bind(i_, v);
  }
  void Blob(std::string_view v) override {
    if (Take()) q_.BindBlob(i_, v);
  }

 private:
  bool Take() { return column_++ != skip_ && (++i_, true); }
  driver::Query& q_;
  int skip_;
  int column_ = 0;
  int i_ = 0;
};
constexpr int kCreationTimeColumn = 15;
}  // namespace

void BindDevice(driver::Query& q, const Device& d, bool with_creation_time) {
  QueryWriter out(q, with_creation_time ? -1 : kCreationTimeColumn);
  WriteDevice(out, d);
}

void WriteDevice(driver::RowWriter& out, const Device& d) {
  out.Int(int64_t{d.id.value});
  out.Text(d.name);
  out.Text(d.type);
  out.Text(d.group);
  out.Text(d.pac);
  out.Text(d.product_certificate);
  out.Double(d.lat);
  out.Double(d.lng);
  out.Int(d.activation_time);
  out.Int(static_cast<int64_t>(d.state));
  out.Int(int64_t{d.token_renew_forbidden ? 1 : 0});
  out.Int(d.last);
  out.Double(d.average_snr);
  out.Double(d.average_rssi);
  out.Int(d.sequence_number);
  out.Int(d.creation_time);
  out.Text(d.dev_eui);
  out.Text(d.join_eui);
  out.Text(d.provision_id);
  out.Text(d.serial_number);
  out.Text(d.model);
}

std::span<const driver::Column> DeviceInsertColumns() {
  using driver::ColumnType;
  static constexpr driver::Column kColumns[] = {
      {"id", ColumnType::kInt},
      {"name", ColumnType::kText},
      {"type_id", ColumnType::kText},
      {"group_id", ColumnType::kText},
      {"pac", ColumnType::kText},
      {"product_certificate", ColumnType::kText},
      {"lat", ColumnType::kDouble},
      {"lng", ColumnType::kDouble},
      {"activation_time", ColumnType::kInt},
      {"state", ColumnType::kInt},
      {"token_renew_forbidden", ColumnType::kInt},
      {"last_time", ColumnType::kInt},
      {"average_snr", ColumnType::kDouble},
      {"average_rssi", ColumnType::kDouble},
      {"sequence_number", ColumnType::kInt},
      {"creation_time", ColumnType::kInt},
      {"dev_eui", ColumnType::kText},
      {"join_eui", ColumnType::kText},
      {"provision_id", ColumnType::kText},
      {"serial_number", ColumnType::kText},
      {"model", ColumnType::kText},
  };
  return kColumns;
}

Group GroupFromRow(const driver::Query& q) {
  Group g;
  g.id = q.Text(0);
  g.name = q.Text(1);
  g.parent = q.IsNull(2) ? std::string() : q.Text(2);
  g.path = PathFromTree(q.Text(3), g.id);
  g.creation_time = q.Int(4);
  g.description = q.Text(5);
  return g;
}

User UserFromRow(const driver::Query& q) {
  User u;
  u.id = q.Text(0);
  u.group = q.Text(1);
  u.email = q.Text(2);
  u.name = q.Text(3);
  u.timezone = q.Text(4);
  u.password_hash = q.Text(5);
  u.roles = SplitRoles(q.Text(6));
  u.creation_time = q.Int(7);
  u.update_time = q.Int(8);
  return u;
}

ApiUser ApiUserFromRow(const driver::Query& q) {
  ApiUser u;
  u.login = q.Text(0);
  u.name = q.Text(1);
  u.group = q.Text(2);
  u.password_hash = q.Text(3);
  u.roles = SplitRoles(q.Text(4));
  u.creation_time = q.Int(5);
  return u;
}

UserToken UserTokenFromRow(const driver::Query& q) {
  UserToken t;
  t.token_hash = q.Text(0);
  t.user = q.Text(1);
  t.expires = q.Int(2);
  t.creation_time = q.Int(3);
  return t;
}

DeviceType DeviceTypeFromRow(const driver::Query& q) {
  DeviceType t;
  t.id = q.Text(0);
  t.name = q.Text(1);
  t.description = q.Text(2);
  t.group = q.Text(3);
  t.keep_alive = q.Int(4);
  t.alert_email = q.Text(5);
  t.payload_type = static_cast<PayloadType>(q.Int(6));
  t.payload_config = q.Text(7);
  t.downlink_mode = static_cast<DownlinkMode>(q.Int(8));
  t.downlink_data_string = q.Text(9);
  t.automatic_renewal = q.Int(10) != 0;
  t.creation_time = q.Int(11);
  t.update_time = q.Int(12);
  return t;
}

void BindDeviceType(driver::Query& q, const DeviceType& t) {
  q.Bind(1, t.id).Bind(2, t.name).Bind(3, t.description).Bind(4, t.group).Bind(5, t.keep_alive);
  q.Bind(6, t.alert_email).Bind(7, static_cast<int64_t>(t.payload_type));
  q.Bind(8, t.payload_config).Bind(9, static_cast<int64_t>(t.downlink_mode));
  q.Bind(10, t.downlink_data_string).Bind(11, int64_t{t.automatic_renewal ? 1 : 0});
  q.Bind(12, t.creation_time).Bind(13, t.update_time);
}

ProductCertificate CertificateFromRow(const driver::Query& q) {
  ProductCertificate pc;
  pc.key = q.Text(0);
  pc.manufacturer = q.Text(1);
  pc.product_name = q.Text(2);
  pc.revision = q.Text(3);
  pc.link = q.Text(4);
  pc.notes = q.Text(5);
  pc.creation_time = q.Int(6);
  pc.update_time = q.Int(7);
  return pc;
}

namespace {
// Keys per SQLite statement (MessageKeysQuery).
constexpr size_t kMessageKeysPerStatement = 32;
}  // namespace

MessageKeysQuery::MessageKeysQuery(std::string_view select, std::string_view device,
                                   std::string_view time, std::string_view seq) {
  const std::string d(device), t(time), s(seq);
  or_of_keys_ = std::string(select) + " WHERE ";
  for (size_t i = 0; i < kMessageKeysPerStatement; ++i) {
    const size_t p = 3 * i;
    or_of_keys_ += i ? " OR (" : "(";
    or_of_keys_ += d + " = $" + std::to_string(p + 1) + " AND " + t + " = $" +
                   std::to_string(p + 2) + " AND " + s + " = $" + std::to_string(p + 3) + ")";
  }
  join_arrays_ =
      std::string(select) +
      " JOIN unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS wanted_keys(key_device, "
      "key_time, key_seq) ON " +
      d + " = key_device AND " + t + " = key_time AND " + s + " = key_seq";
}

Status MessageKeysQuery::ForEach(driver::Connection& c, const char* op,
                                 std::span<const MessageCursor> keys,
                                 const std::function<void(const driver::Query&)>& row) const {
  std::vector<MessageCursor> wanted(keys.begin(), keys.end());
  std::sort(wanted.begin(), wanted.end(), [](const MessageCursor& a, const MessageCursor& b) {
    return std::tie(a.device, a.time, a.seq_number) < std::tie(b.device, b.time, b.seq_number);
  });
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  if (wanted.empty()) return Status::Ok();
  const bool arrays = c.dialect().engine == driver::Engine::kPostgres;
  auto prepared = c.Prepare(arrays ? join_arrays_ : or_of_keys_, op);
  if (!prepared.ok()) return prepared.status();
  driver::Query& q = *prepared;
  auto read_rows = [&]() -> Status {
    for (;;) {
      auto found = q.Next();
      if (!found.ok()) return found.status();
      if (!*found) break;
      row(q);
    }
    q.Reset();
    return Status::Ok();
  };
  if (arrays) {
    std::vector<int64_t> devices, times, seqs;
    devices.reserve(wanted.size());
    times.reserve(wanted.size());
    seqs.reserve(wanted.size());
    for (const MessageCursor& k : wanted) {
      devices.push_back(int64_t{k.device});
      times.push_back(k.time);
      seqs.push_back(k.seq_number);
    }
    q.BindIntList(1, devices).BindIntList(2, times).BindIntList(3, seqs);
    return read_rows();
  }
  for (size_t start = 0; start < wanted.size(); start += kMessageKeysPerStatement) {
    for (size_t i = 0; i < kMessageKeysPerStatement; ++i) {
      const MessageCursor& k = wanted[std::min(start + i, wanted.size() - 1)];
      const int p = static_cast<int>(3 * i);
      q.Bind(p + 1, int64_t{k.device}).Bind(p + 2, k.time).Bind(p + 3, k.seq_number);
    }
    ROOST_RETURN_IF_ERROR(read_rows());
  }
  return Status::Ok();
}

}  // namespace roost::storage::sql
