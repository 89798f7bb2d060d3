#include "http/console_assets.h"

#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <utility>

#include "core/text.h"

namespace roost::http {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
constexpr std::string_view kNoCache = "no-cache";

// Formats that are compressed already: gzip would only cost start-up time.
bool WorthCompressing(std::string_view content_type) {
  return content_type.starts_with("text/") || content_type.starts_with("application/json") ||
         content_type.starts_with("application/manifest+json") || content_type == "image/svg+xml" ||
         content_type == "image/x-icon";
}

std::string Gzip(std::string_view in) {
  z_stream zs{};
  // 15 + 16: a gzip wrapper rather than zlib's.
  if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    return {};
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(in.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END ? out : std::string();
}

// A strong validator from the content: FNV-1a (64 bits) and the length.
std::string ETagOf(std::string_view body) {
  uint64_t h = 1469598103934665603ull;
  for (char c : body) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tag = "\"";
  for (int shift = 60; shift >= 0; shift -= 4) tag += kHex[(h >> shift) & 0xf];
  tag += '-';
  std::string len;
  for (size_t n = body.size(); n > 0 || len.empty(); n >>= 4)
    len.insert(len.begin(), kHex[n & 0xf]);
  return tag + len + "\"";
}

std::string GzipETag(const std::string& etag) {
  return etag.substr(0, etag.size() - 1) + "-gz\"";
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether an If-None-Match value names `etag` or `gzip_etag` (weak comparison,
// RFC 9110 13.1.2), or is "*".
bool NoneMatchHits(std::string_view header, std::string_view etag, std::string_view gzip_etag) {
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view tag = Trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag || (!gzip_etag.empty() && tag == gzip_etag)) return true;
  }
  return false;
}

// Self-contained (no script, no inline style: the Content-Security-Policy holds).
constexpr std::string_view kNotBuiltPage =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head><meta charset=\"utf-8\"><title>Roost</title></head>\n"
    "<body>\n"
    "<h1>Roost</h1>\n"
    "<p>The Roost API is running. The web console's files were not built, so there is no "
    "console to show here.</p>\n"
    "<p>To build them, run <code>scripts/build.sh</code> from the repository, or "
    "<code>npm ci &amp;&amp; npm run build</code> in <code>web/</code>; then restart "
    "<code>roost serve</code> (or point <code>--console-dir</code> at the built files).</p>\n"
    "<p>The API is described at <a href=\"/api/openapi.json\">/api/openapi.json</a>.</p>\n"
    "</body>\n"
    "</html>\n";

Response NotFound(const Request& request) {
  return Response::Error(404, "no resource at " + QuoteForMessage(request.path, 200));
}

Response Send(const ConsoleAsset& asset, const Request& request, std::string_view cache_control) {
  Response r;
  r.content_type = asset.content_type;
  r.headers.emplace_back("Cache-Control", std::string(cache_control));
  r.headers.emplace_back("Vary", "Accept-Encoding");
  auto accept = request.Header("Accept-Encoding");
  const bool gzip = !asset.gzip_body.empty() && accept && AcceptsGzip(*accept);
  std::string etag = gzip ? GzipETag(asset.etag) : asset.etag;
  if (auto none_match = request.Header("If-None-Match");
      none_match && NoneMatchHits(*none_match, asset.etag, GzipETag(asset.etag))) {
    r.status = 304;
    r.content_type.clear();
    r.headers.emplace_back("ETag", etag);
    return r;
  }
  r.headers.emplace_back("ETag", etag);
  if (gzip) {
    r.headers.emplace_back("Content-Encoding", "gzip");
    r.body = asset.gzip_body;
  } else {
    r.body = asset.body;
  }
  return r;
}

}  // namespace

std::string_view ConsoleContentType(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".webp", "image/webp"},
      {".gif", "image/gif"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".json", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".ico", "image/x-icon"},
      {".map", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
  };
  size_t slash = name.rfind('/');
  std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  size_t dot = base.rfind('.');
  if (dot != std::string_view::npos) {
    std::string ext = AsciiLower(base.substr(dot));
    for (const auto& [suffix, type] : kTypes) {
      if (ext == suffix) return type;
    }
  }
  return "application/octet-stream";
}

bool IsConsoleDeepLink(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  if (path == "/api" || path.starts_with("/api/")) return false;
  std::string_view last = path.substr(path.rfind('/') + 1);
  return last.find('.') == std::string_view::npos;
}

bool AcceptsGzip(std::string_view accept_encoding) {
  bool star = false;
  bool gzip_named = false;
  bool gzip = false;
  std::string_view rest = accept_encoding;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    size_t semi = item.find(';');
    std::string coding = AsciiLower(Trim(item.substr(0, semi)));
    bool allowed = true;
    if (semi != std::string_view::npos) {
      // "q=0", "q=0.0", "q=0.000": refused; any other q-value allows it.
      std::string_view param = Trim(item.substr(semi + 1));
      if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
        std::string_view q = param.substr(2);
        allowed = false;
        for (char c : q) {
          if (c >= '1' && c <= '9') allowed = true;
        }
      }
    }
    if (coding == "gzip" || coding == "x-gzip") {
      gzip_named = true;
      gzip = gzip || allowed;
    } else if (coding == "*") {
      star = allowed;
    }
  }
  return gzip_named ? gzip : star;
}

void ConsoleAssets::AddFile(std::string path, std::string body) {
  ConsoleAsset asset;
  asset.content_type = std::string(ConsoleContentType(path));
  asset.etag = ETagOf(body);
  if (WorthCompressing(asset.content_type)) {
    std::string gz = Gzip(body);
    if (!gz.empty() && gz.size() < body.size()) asset.gzip_body = std::move(gz);
  }
  asset.cache_control = std::string(path.starts_with("/assets/") ? kImmutable : kNoCache);
  total_bytes_ += body.size();
  asset.body = std::move(body);
  files_[std::move(path)] = std::move(asset);
}

Result<ConsoleAssets> ConsoleAssets::Load(const std::string& dir, ConsoleLimits limits) {
  ConsoleAssets table;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return table;
  const fs::path root(dir);
  fs::recursive_directory_iterator it(root, fs::directory_options::follow_directory_symlink, ec);
  if (ec) return Status::IoError(dir + ": " + ec.message());
  size_t total = 0;
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return Status::IoError(dir + ": " + ec.message());
    const fs::path& path = it->path();
    const std::string name = path.filename().string();
    if (name.starts_with(".")) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    if (table.files_.size() + 1 > limits.max_files) {
      return Status::InvalidInput(dir + ": more than " + std::to_string(limits.max_files) +
                                  " files; is console.dir the console's build directory?");
    }
    const uintmax_t size = it->file_size(ec);
    if (ec) return Status::IoError(path.string() + ": " + ec.message());
    if (size > limits.max_total_bytes || total + size > limits.max_total_bytes) {
      return Status::InvalidInput(dir + ": the console's files are larger than " +
                                  std::to_string(limits.max_total_bytes) +
                                  " bytes together; is console.dir the console's build "
                                  "directory?");
    }
    total += static_cast<size_t>(size);
    std::ifstream in(path, std::ios::binary);
    std::string body(static_cast<size_t>(size), '\0');
    if (!in || !in.read(body.data(), static_cast<std::streamsize>(body.size()))) {
      return Status::IoError(path.string() + ": cannot be read");
    }
    std::string key = "/" + path.lexically_relative(root).generic_string();
    table.AddFile(std::move(key), std::move(body));
  }
  return table;
}

const ConsoleAsset* ConsoleAssets::Find(std::string_view path) const {
  if (path == "/") path = "/index.html";
  auto it = files_.find(path);
  return it == files_.end() ? nullptr : &it->second;
}

Response ConsoleAssets::Answer(const Request& request) const {
  auto decoded = PercentDecode(request.path);
  if (!decoded) return Response::Error(400, "malformed request path");
  if (const ConsoleAsset* asset = Find(*decoded)) {
    return Send(*asset, request, asset->cache_control);
  }
  if (!IsConsoleDeepLink(request.path)) return NotFound(request);
  if (const ConsoleAsset* index = Find("/index.html")) return Send(*index, request, kNoCache);
  Response page = Response::Text(200, std::string(kNotBuiltPage), "text/html; charset=utf-8");
  page.headers.emplace_back("Cache-Control", std::string(kNoCache));
  return page;
}

Status ServeConsole(Router& router, const ConsoleAssets& assets) {
  // The console's pages and files are only ever read: a body is refused unread.
  RouteOptions options;
  options.max_body_bytes = 0;
  return router.SetFallback(
      "/{console}", [&assets](const Request& request) { return assets.Answer(request); }, options);
}

}  // namespace roost::http
