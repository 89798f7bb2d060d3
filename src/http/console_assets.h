// The web console's built files, served from memory.
//
// `npm run build` in web/ writes an index.html and content-hashed files under
// assets/ (assets/index-3f9a1c2b.js). ConsoleAssets::Load reads a directory of
// them once, at start: requests never touch the file system, so no request
// path can reach a file outside the table (no traversal by construction), and
// what the table may cost is bounded when it is loaded.
//
// Serving (ConsoleAssets::Answer), for a GET or HEAD that matched no route:
//  - a path that names a file of the table ("/" names /index.html) gets it,
//    with Content-Type by extension, a strong ETag (If-None-Match → 304),
//    Vary: Accept-Encoding, and the gzip body (Content-Encoding: gzip) when
//    Accept-Encoding allows gzip and it is smaller than the file;
//    Cache-Control: files under /assets/ have content-hashed names and are
//    `public, max-age=31536000, immutable`, everything else `no-cache`;
//  - otherwise a path outside /api/ whose last segment has no dot is a deep
//    link into the console's History-API routing (/devices/1234AB/messages,
//    /set-password) and gets index.html (200, no-cache);
//  - everything else gets the API's JSON 404.
// When the directory holds no index.html (the console was not built), "/" and
// deep links get a small page saying so, how to build it, and where the API
// description is.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "core/status.h"
#include "http/message.h"
#include "http/router.h"

namespace roost::http {

// One file of the table, ready to send.
struct ConsoleAsset {
  std::string content_type;
  std::string body;
  std::string gzip_body;  // empty when gzip would not make it smaller
  std::string etag;       // strong, quoted: "\"1f0c…\""; the gzip body's ends in "-gz\""
  std::string cache_control;
};

struct ConsoleLimits {
  size_t max_total_bytes = 32 * 1024 * 1024;  // the files' sizes together
  size_t max_files = 10000;
};

class ConsoleAssets {
 public:
  // A table with no files: the "not built" page only.
  ConsoleAssets() = default;

  // Reads every regular file below `dir` (names starting with '.' are skipped,
  // symbolic links are followed), keyed by its path from `dir` ("/index.html",
  // "/assets/x-1234abcd.js"), and gzips the compressible ones. A missing
  // directory is an empty table (NotFound is not returned: the console is
  // optional). Fails with InvalidInput naming the limit when the files pass
  // `limits`, IoError naming the file when one cannot be read.
  static Result<ConsoleAssets> Load(const std::string& dir, ConsoleLimits limits = {});

  // Whether an index.html was found: false = the console was not built.
  bool built() const { return files_.count("/index.html") > 0; }
  size_t file_count() const { return files_.size(); }
  size_t total_bytes() const { return total_bytes_; }

  // The file at `path` (percent-decoded, "/" = "/index.html"), or nullptr.
  const ConsoleAsset* Find(std::string_view path) const;

  // The response to a GET or HEAD of `request` (see the top of this file).
  Response Answer(const Request& request) const;

  // For tests: adds a file as Load would have read it.
  void AddFile(std::string path, std::string body);

 private:
  std::map<std::string, ConsoleAsset, std::less<>> files_;
  size_t total_bytes_ = 0;
};

// The Content-Type for a file name, by extension ("application/octet-stream"
// when unknown).
std::string_view ConsoleContentType(std::string_view name);

// True when a request path (still percent-encoded) is a deep link the console
// routes itself: not under /api/ and its last segment has no dot.
bool IsConsoleDeepLink(std::string_view path);

// True when an Accept-Encoding header value allows gzip (gzip or x-gzip, or *,
// with a q-value above 0).
bool AcceptsGzip(std::string_view accept_encoding);

// Makes `assets` answer the router's GET and HEAD requests that match no route
// (Router::SetFallback), on the event loop: all of it is in memory.
Status ServeConsole(Router& router, const ConsoleAssets& assets);

}  // namespace roost::http
