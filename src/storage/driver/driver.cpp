#include "storage/driver/driver.h"

namespace roost::storage::driver {

Query::~Query() {
  if (s_) s_->Reset();
}

Query& Query::Bind(int i, std::string_view v) {
  s_->BindText(i, v, true);
  return *this;
}
Query& Query::BindRef(int i, std::string_view v) {
  s_->BindText(i, v, false);
  return *this;
}
Query& Query::Bind(int i, int64_t v) {
  s_->BindInt(i, v);
  return *this;
}
Query& Query::Bind(int i, std::optional<int64_t> v) {
  v ? s_->BindInt(i, *v) : s_->BindNull(i);
  return *this;
}
Query& Query::Bind(int i, std::optional<double> v) {
  v ? s_->BindDouble(i, *v) : s_->BindNull(i);
  return *this;
}
Query& Query::BindBlob(int i, std::string_view bytes) {
  s_->BindBlob(i, bytes);
  return *this;
}
Query& Query::BindNull(int i) {
  s_->BindNull(i);
  return *this;
}
Query& Query::BindIntList(int i, std::span<const int64_t> values) {
  s_->BindIntList(i, values);
  return *this;
}

Result<bool> Query::Next() {
  return s_->Next(op_);
}

Status Query::Run() {
  for (;;) {
    auto more = s_->Next(op_);
    if (!more.ok()) return more.status();
    if (!*more) break;
  }
  return Status::Ok();
}

int64_t Query::Affected() const {
  return s_->Affected();
}
void Query::Reset() {
  s_->Reset();
}
bool Query::IsNull(int col) const {
  return s_->IsNull(col);
}
std::string Query::Text(int col) const {
  return s_->Text(col);
}
std::string Query::Blob(int col) const {
  return s_->Blob(col);
}
int64_t Query::Int(int col) const {
  return s_->Int(col);
}
std::optional<int64_t> Query::OptInt(int col) const {
  return s_->IsNull(col) ? std::nullopt : std::optional<int64_t>(s_->Int(col));
}
std::optional<double> Query::OptDouble(int col) const {
  return s_->IsNull(col) ? std::nullopt : std::optional<double>(s_->Double(col));
}

Result<Pool::Lease> Pool::Acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !idle_.empty() || opened_ < size_; });
  if (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    lock.unlock();
    if (Status st = c->Revive(); !st.ok()) {
      c.reset();
      Forget();
      return st;
    }
    return Lease(this, std::move(c));
  }
  ++opened_;
  lock.unlock();
  auto c = open_();
  if (!c.ok()) {
    Forget();
    return c.status();
  }
  return Lease(this, std::move(*c));
}

void Pool::Release(std::unique_ptr<Connection> c) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(c));
  cv_.notify_one();
}

void Pool::Forget() {
  std::lock_guard lock(mu_);
  --opened_;
  cv_.notify_one();
}

}  // namespace roost::storage::driver
