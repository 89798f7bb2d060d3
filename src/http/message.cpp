#include "http/message.h"

#include <set>

#include "core/text.h"

namespace roost::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One "key=value" (or bare "key") of a query string, still percent-encoded.
struct RawQueryItem {
  std::string_view key;
  std::optional<std::string_view> value;  // nullopt: no '='
};

// Takes the first '&'-separated item off `rest`.
RawQueryItem NextQueryItem(std::string_view& rest) {
  size_t amp = rest.find('&');
  std::string_view item = rest.substr(0, amp);
  rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
  size_t eq = item.find('=');
  if (eq == std::string_view::npos) return {item, std::nullopt};
  return {item.substr(0, eq), item.substr(eq + 1)};
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::string_view> Request::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::string_view Request::Param(std::string_view name) const {
  for (const auto& [k, v] : path_params) {
    if (k == name) return v;
  }
  return {};
}

std::optional<std::string> Request::QueryParam(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    const RawQueryItem item = NextQueryItem(rest);
    auto key = PercentDecode(item.key, true);
    if (!key || *key != name) continue;
    if (!item.value) return std::string();
    auto value = PercentDecode(*item.value, true);
    if (value && FindTextFault(*value)) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

namespace {

struct TargetFault {
  std::string message;
  std::string parameter;  // of a fault in a query value whose name is text
  std::string_view problem;
};

std::optional<TargetFault> FindTargetFault(std::string_view path, std::string_view query) {
  size_t segment = 0;
  size_t pos = path.empty() || path[0] != '/' ? 0 : 1;
  while (pos <= path.size() && !path.empty()) {
    size_t slash = path.find('/', pos);
    std::string_view raw = path.substr(pos, slash == std::string_view::npos ? slash : slash - pos);
    ++segment;
    if (auto decoded = PercentDecode(raw)) {
      if (auto fault = FindTextFault(*decoded)) {
        return TargetFault{
            "path segment " + std::to_string(segment) + ": " + std::string(fault->problem), "",
            fault->problem};
      }
    }
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  std::string_view rest = query;
  std::set<std::string, std::less<>> seen;
  while (!rest.empty()) {
    const RawQueryItem item = NextQueryItem(rest);
    constexpr std::string_view kMalformed = "malformed percent escape";
    auto key = PercentDecode(item.key, true);
    if (!key) {
      return TargetFault{
          "query parameter " + QuoteForMessage(item.key) + ": " + std::string(kMalformed), "",
          kMalformed};
    }
    const std::string where = "query parameter " + QuoteForMessage(*key) + ": ";
    if (auto fault = FindTextFault(*key)) {
      return TargetFault{where + std::string(fault->problem), "", fault->problem};
    }
    // QueryParam reads the first; a second one (?enabled=false&enabled=true)
    // would be silently ignored, so the request is ambiguous.
    if (!key->empty() && !seen.insert(*key).second) {
      constexpr std::string_view kRepeated = "given more than once";
      return TargetFault{where + std::string(kRepeated), *key, kRepeated};
    }
    if (!item.value) continue;
    auto value = PercentDecode(*item.value, true);
    if (!value) return TargetFault{where + std::string(kMalformed), *key, kMalformed};
    if (auto fault = FindTextFault(*value)) {
      return TargetFault{where + std::string(fault->problem), *key, fault->problem};
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<Response> TargetTextRefusal(std::string_view path, std::string_view query) {
  auto fault = FindTargetFault(path, query);
  if (!fault) return std::nullopt;
  std::vector<ErrorDetail> errors;
  if (!fault->parameter.empty()) {
    errors.push_back(ErrorDetail::Field(fault->parameter, std::string(fault->problem)));
  }
  return Response::Error(400, fault->message, errors);
}

Response Response::Later(std::shared_ptr<PendingResponse> pending) {
  Response r;
  r.later = std::move(pending);
  return r;
}

Response Response::Stream(std::shared_ptr<ResponseStream> stream) {
  Response r;
  r.content_type = "text/event-stream";
  r.stream = std::move(stream);
  return r;
}

bool ResponseStream::Write(std::string_view piece) {
  std::function<void()> wake;
  std::function<void()> on_end;
  bool queued = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (end_ != End::kOpen) return false;
    if (piece.size() > max_queued_bytes_ || queued_.size() > max_queued_bytes_ - piece.size()) {
      // The client reads slower than we produce: drop it rather than grow.
      end_ = End::kTooSlow;
      std::string().swap(queued_);
      on_end = std::move(on_end_);
    } else {
      queued_.append(piece);
      queued = true;
    }
    wake = std::move(wake_);
    wake_ = nullptr;
  }
  if (wake) wake();
  if (on_end) on_end();
  return queued;
}

void ResponseStream::Finish(End why) {
  std::function<void()> wake;
  std::function<void()> on_end;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (end_ != End::kOpen || why == End::kOpen) return;
    end_ = why;
    if (why != End::kClosed) std::string().swap(queued_);
    wake = std::move(wake_);
    wake_ = nullptr;
    on_end = std::move(on_end_);
  }
  if (wake) wake();
  if (on_end) on_end();
}

ResponseStream::End ResponseStream::end() const {
  std::lock_guard<std::mutex> lock(mu_);
  return end_;
}

void ResponseStream::OnEnd(std::function<void()> on_end) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (end_ == End::kOpen) {
      on_end_ = std::move(on_end);
      return;
    }
  }
  on_end();
}

size_t ResponseStream::queued_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_.size();
}

ResponseStream::Taken ResponseStream::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  Taken taken;
  taken.data.swap(queued_);
  taken.end = end_;
  return taken;
}

bool ResponseStream::OnReady(std::function<void()> wake) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!queued_.empty() || end_ != End::kOpen) return false;
  wake_ = std::move(wake);
  return true;
}

void PendingResponse::Complete(Response response) {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (completed_) return;
    completed_ = true;
    response.later.reset();  // a pending response never waits on another
    response_ = std::move(response);
    wake = std::move(wake_);
  }
  done_.notify_all();
  if (wake) wake();
}

Response PendingResponse::Wait() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return completed_; });
  }
  return Take();
}

bool PendingResponse::OnComplete(std::function<void()> wake) {
  std::lock_guard<std::mutex> lock(mu_);
  if (completed_) return false;
  wake_ = std::move(wake);
  return true;
}

Response PendingResponse::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!response_) return Response::Error(500, "internal server error");
  Response r = std::move(*response_);
  response_.reset();
  return r;
}

Response Response::Json(int status, std::string json_body) {
  Response r;
  r.status = status;
  r.body = std::move(json_body);
  return r;
}

Response Response::Text(int status, std::string text, std::string content_type) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(text);
  return r;
}

Response Response::Error(int status, std::string_view message,
                         const std::vector<ErrorDetail>& errors) {
  return Json(status, ErrorBody(message, errors));
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "";
  }
}

}  // namespace roost::http
