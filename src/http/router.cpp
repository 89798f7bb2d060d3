#include "http/router.h"

#include <algorithm>
#include <set>

namespace roost::http {

struct Router::Node {
  struct Route {
    Handler handler;
    std::string pattern;
    RouteOptions options;
  };
  std::map<std::string, std::unique_ptr<Node>, std::less<>> literals;
  std::unique_ptr<Node> param;
  std::string param_name;
  std::map<std::string, Route, std::less<>> methods;
};

struct Router::Fallback {
  Handler handler;
  std::string label;
  RouteOptions options;
};

namespace {

// Runs `handler` only for requests whose target is text (TargetTextRefusal).
Handler CheckedHandler(Handler handler) {
  return [inner = std::move(handler)](const Request& req) {
    if (auto refusal = TargetTextRefusal(req.path, req.query)) return std::move(*refusal);
    return inner(req);
  };
}

bool IsTokenChar(char c) {
  // RFC 9110 tchar.
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsParamName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

// Splits "/a/b" into {"a", "b"}; "/" into {}.
std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  if (path == "/") return out;
  size_t pos = 1;
  while (true) {
    size_t slash = path.find('/', pos);
    out.push_back(path.substr(pos, slash == std::string_view::npos ? slash : slash - pos));
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return out;
}

}  // namespace

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

Status Router::Add(std::string_view method, std::string_view pattern, Handler handler,
                   RouteOptions options) {
  std::string where = std::string(method) + " " + std::string(pattern);
  if (method.empty() || !std::all_of(method.begin(), method.end(), IsTokenChar)) {
    return Status::InvalidInput(where + ": method is not an HTTP token");
  }
  if (pattern.empty() || pattern[0] != '/') {
    return Status::InvalidInput(where + ": pattern must start with '/'");
  }
  if (!handler) return Status::InvalidInput(where + ": empty handler");
  if (method == "GET" || method == "HEAD") options.max_body_bytes = 0;
  std::vector<std::string_view> segments = SplitPath(pattern);
  std::set<std::string_view> names;
  Node* node = root_.get();
  for (size_t i = 0; i < segments.size(); ++i) {
    std::string_view seg = segments[i];
    std::string at = where + ": segment " + std::to_string(i + 1);
    if (seg.empty()) return Status::InvalidInput(at + " is empty");
    if (seg.front() == '{') {
      if (seg.back() != '}') return Status::InvalidInput(at + ": parameter lacks '}'");
      std::string_view name = seg.substr(1, seg.size() - 2);
      if (!IsParamName(name)) {
        return Status::InvalidInput(at + ": parameter name must match [A-Za-z_][A-Za-z0-9_]*");
      }
      if (!names.insert(name).second) {
        return Status::InvalidInput(at + ": parameter {" + std::string(name) + "} repeated");
      }
      if (!node->param) {
        node->param = std::make_unique<Node>();
        node->param_name = std::string(name);
      } else if (node->param_name != name) {
        return Status::InvalidInput(at + ": parameter {" + std::string(name) +
                                    "} conflicts with {" + node->param_name +
                                    "} of an existing route");
      }
      node = node->param.get();
    } else {
      if (seg.find_first_of("{}%?#") != std::string_view::npos) {
        return Status::InvalidInput(at + ": literal contains one of {}%?#");
      }
      auto it = node->literals.find(seg);
      if (it == node->literals.end()) {
        it = node->literals.emplace(std::string(seg), std::make_unique<Node>()).first;
      }
      node = it->second.get();
    }
  }
  if (node->methods.count(method) > 0) {
    return Status::AlreadyExists(where + ": route already registered");
  }
  Handler checked = CheckedHandler(std::move(handler));
  if (options.admit) {
    // Before admission too, so that such a request never has its body read.
    options.admit = [inner = std::move(options.admit)](Request& req) -> std::optional<Response> {
      if (auto refusal = TargetTextRefusal(req.path, req.query)) return std::move(*refusal);
      return inner(req);
    };
  }
  node->methods.emplace(std::string(method),
                        Node::Route{std::move(checked), std::string(pattern), std::move(options)});
  return Status::Ok();
}

Status Router::SetFallback(std::string_view label, Handler handler, RouteOptions options) {
  if (!handler) return Status::InvalidInput("fallback: empty handler");
  if (label.empty()) return Status::InvalidInput("fallback: empty label");
  if (fallback_) return Status::AlreadyExists("fallback: already set");
  fallback_ = std::make_unique<Fallback>(
      Fallback{CheckedHandler(std::move(handler)), std::string(label), std::move(options)});
  return Status::Ok();
}

RouteMatch Router::Match(std::string_view method, std::string_view path) const {
  RouteMatch result;
  if (path.empty() || path[0] != '/') {
    result.kind = RouteMatch::Kind::kBadPath;
    return result;
  }
  std::vector<std::string> segments;
  for (std::string_view raw : SplitPath(path)) {
    auto decoded = PercentDecode(raw);
    if (!decoded) {
      result.kind = RouteMatch::Kind::kBadPath;
      return result;
    }
    segments.push_back(std::move(*decoded));
  }

  // Depth-first, literals before parameters. The first terminal node that has the
  // method wins; otherwise the methods of every terminal node reached form `allow`.
  std::set<std::string> allowed;
  std::string_view first_pattern;
  std::vector<std::pair<std::string, std::string>> params;
  const Node* found = nullptr;
  auto head_via_get = [](const Node* node) {
    auto get = node->methods.find("GET");
    return get != node->methods.end() && get->second.options.safety == Safety::kSafe;
  };
  std::function<bool(const Node*, size_t)> walk = [&](const Node* node, size_t i) -> bool {
    if (i == segments.size()) {
      if (node->methods.empty()) return false;
      if (node->methods.count(method) > 0 || (method == "HEAD" && head_via_get(node))) {
        found = node;
        return true;
      }
      if (first_pattern.empty()) first_pattern = node->methods.begin()->second.pattern;
      for (const auto& [m, r] : node->methods) allowed.insert(m);
      if (head_via_get(node)) allowed.insert("HEAD");
      return false;
    }
    const std::string& seg = segments[i];
    if (seg.empty()) return false;
    if (auto it = node->literals.find(seg); it != node->literals.end()) {
      if (walk(it->second.get(), i + 1)) return true;
    }
    if (node->param) {
      params.emplace_back(node->param_name, seg);
      if (walk(node->param.get(), i + 1)) return true;
      params.pop_back();
    }
    return false;
  };

  if (walk(root_.get(), 0)) {
    auto it = found->methods.find(method);
    if (it == found->methods.end()) it = found->methods.find("GET");  // HEAD via GET
    result.kind = RouteMatch::Kind::kFound;
    result.handler = &it->second.handler;
    result.options = &it->second.options;
    result.pattern = it->second.pattern;
    result.params = std::move(params);
    return result;
  }
  if (allowed.empty()) {
    if (fallback_ && (method == "GET" || method == "HEAD")) {
      result.kind = RouteMatch::Kind::kFound;
      result.handler = &fallback_->handler;
      result.options = &fallback_->options;
      result.pattern = fallback_->label;
      return result;
    }
    result.kind = RouteMatch::Kind::kNotFound;
    return result;
  }
  result.kind = RouteMatch::Kind::kMethodNotAllowed;
  result.pattern = first_pattern;
  for (const std::string& m : allowed) {
    if (!result.allow.empty()) result.allow += ", ";
    result.allow += m;
  }
  return result;
}

Response RunMatched(const RouteMatch& match, Request& request) {
  if (match.options != nullptr && match.options->admit) {
    if (auto refusal = match.options->admit(request)) return std::move(*refusal);
  }
  Response response = (*match.handler)(request);
  // In process there is no connection to wait on: wait here.
  if (response.later) return response.later->Wait();
  return response;
}

std::vector<std::pair<std::string, std::string>> Router::Routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  std::function<void(const Node*)> walk = [&](const Node* node) {
    for (const auto& [m, r] : node->methods) out.emplace_back(m, r.pattern);
    for (const auto& [name, child] : node->literals) walk(child.get());
    if (node->param) walk(node->param.get());
  };
  walk(root_.get());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.second, a.first) < std::tie(b.second, b.first);
  });
  return out;
}

}  // namespace roost::http
