#include "http/console_assets.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace roost::http {
namespace {

namespace fs = std::filesystem;

std::string HeaderOf(const Response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

Request Get(std::string path, HeaderList headers = {}) {
  Request req;
  req.method = "GET";
  req.path = std::move(path);
  req.target = req.path;
  req.headers = std::move(headers);
  return req;
}

std::string Gunzip(const std::string& in) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

const std::string kIndex =
    "<!DOCTYPE html><html><head><script type=\"module\" src=\"/assets/index-3f9a1c2b.js\">"
    "</script></head><body><div id=\"app\"></div></body></html>" +
    std::string(200, ' ');
const std::string kScript = "console.log('roost');\n" + std::string(500, ';');

ConsoleAssets Built() {
  ConsoleAssets assets;
  assets.AddFile("/index.html", kIndex);
  assets.AddFile("/assets/index-3f9a1c2b.js", kScript);
  assets.AddFile("/assets/logo-00ff00ff.png", std::string("\x89PNG\r\n\x1a\n", 8));
  assets.AddFile("/favicon.ico", "ico");
  return assets;
}

TEST(ConsoleContentType, ByExtension) {
  EXPECT_EQ(ConsoleContentType("/index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(ConsoleContentType("/assets/a-1.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ConsoleContentType("/assets/a-1.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ConsoleContentType("/assets/a-1.CSS"), "text/css; charset=utf-8");
  EXPECT_EQ(ConsoleContentType("/a.svg"), "image/svg+xml");
  EXPECT_EQ(ConsoleContentType("/a.png"), "image/png");
  EXPECT_EQ(ConsoleContentType("/f/a.woff2"), "font/woff2");
  EXPECT_EQ(ConsoleContentType("/a.json"), "application/json");
  EXPECT_EQ(ConsoleContentType("/favicon.ico"), "image/x-icon");
  EXPECT_EQ(ConsoleContentType("/assets/a.js.map"), "application/json");
  EXPECT_EQ(ConsoleContentType("/robots.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(ConsoleContentType("/noext"), "application/octet-stream");
  EXPECT_EQ(ConsoleContentType("/a.exe"), "application/octet-stream");
  EXPECT_EQ(ConsoleContentType("/dir.js/file"), "application/octet-stream");
}

TEST(ConsoleAssets, ServesAFileWithItsTypeETagAndCaching) {
  ConsoleAssets assets = Built();
  Response r = assets.Answer(Get("/assets/index-3f9a1c2b.js"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(r.body, kScript);
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(HeaderOf(r, "Vary"), "Accept-Encoding");
  EXPECT_EQ(HeaderOf(r, "Content-Encoding"), "");
  std::string etag = HeaderOf(r, "ETag");
  ASSERT_GE(etag.size(), 4u);
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(etag.back(), '"');

  Response index = assets.Answer(Get("/"));
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, kIndex);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(HeaderOf(index, "Cache-Control"), "no-cache");
  EXPECT_EQ(HeaderOf(assets.Answer(Get("/favicon.ico")), "Cache-Control"), "no-cache");
  EXPECT_NE(HeaderOf(index, "ETag"), etag);
}

TEST(ConsoleAssets, GzipWhenAcceptedAndSmaller) {
  ConsoleAssets assets = Built();
  Response gz = assets.Answer(Get("/assets/index-3f9a1c2b.js", {{"Accept-Encoding", "br, gzip"}}));
  EXPECT_EQ(HeaderOf(gz, "Content-Encoding"), "gzip");
  EXPECT_LT(gz.body.size(), kScript.size());
  EXPECT_EQ(Gunzip(gz.body), kScript);
  Response plain = assets.Answer(Get("/assets/index-3f9a1c2b.js"));
  EXPECT_NE(HeaderOf(gz, "ETag"), HeaderOf(plain, "ETag"));  // two representations
  // gzip;q=0 refuses it.
  Response refused =
      assets.Answer(Get("/assets/index-3f9a1c2b.js", {{"Accept-Encoding", "gzip;q=0, br"}}));
  EXPECT_EQ(HeaderOf(refused, "Content-Encoding"), "");
  EXPECT_EQ(refused.body, kScript);
  // A file that gzip would not make smaller goes as it is.
  Response png = assets.Answer(Get("/assets/logo-00ff00ff.png", {{"Accept-Encoding", "gzip"}}));
  EXPECT_EQ(HeaderOf(png, "Content-Encoding"), "");
  EXPECT_EQ(png.content_type, "image/png");
  EXPECT_EQ(png.body.size(), 8u);
}

TEST(AcceptsGzip, ReadsTheHeader) {
  EXPECT_TRUE(AcceptsGzip("gzip"));
  EXPECT_TRUE(AcceptsGzip("gzip, deflate, br"));
  EXPECT_TRUE(AcceptsGzip("GZIP;q=0.5"));
  EXPECT_TRUE(AcceptsGzip("x-gzip"));
  EXPECT_TRUE(AcceptsGzip("*"));
  EXPECT_TRUE(AcceptsGzip("br, *;q=0.1"));
  EXPECT_FALSE(AcceptsGzip(""));
  EXPECT_FALSE(AcceptsGzip("identity"));
  EXPECT_FALSE(AcceptsGzip("br, deflate"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0.000, *"));
  EXPECT_FALSE(AcceptsGzip("*;q=0"));
}

TEST(ConsoleAssets, IfNoneMatchGives304) {
  ConsoleAssets assets = Built();
  Response first = assets.Answer(Get("/assets/index-3f9a1c2b.js", {{"Accept-Encoding", "gzip"}}));
  std::string etag = HeaderOf(first, "ETag");
  Response again = assets.Answer(
      Get("/assets/index-3f9a1c2b.js", {{"Accept-Encoding", "gzip"}, {"If-None-Match", etag}}));
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(HeaderOf(again, "ETag"), etag);
  EXPECT_EQ(HeaderOf(again, "Cache-Control"), "public, max-age=31536000, immutable");
  // A list, a weak form, and *.
  EXPECT_EQ(
      assets.Answer(Get("/assets/index-3f9a1c2b.js", {{"If-None-Match", "\"other\", W/" + etag}}))
          .status,
      304);
  EXPECT_EQ(assets.Answer(Get("/assets/index-3f9a1c2b.js", {{"If-None-Match", "*"}})).status, 304);
  // Another file's tag is no match.
  std::string index_tag = HeaderOf(assets.Answer(Get("/")), "ETag");
  EXPECT_EQ(assets.Answer(Get("/assets/index-3f9a1c2b.js", {{"If-None-Match", index_tag}})).status,
            200);
}

TEST(ConsoleDeepLink, Rules) {
  EXPECT_TRUE(IsConsoleDeepLink("/devices/1234AB/messages"));
  EXPECT_TRUE(IsConsoleDeepLink("/set-password"));
  EXPECT_TRUE(IsConsoleDeepLink("/"));
  EXPECT_TRUE(IsConsoleDeepLink("/apis"));  // only /api itself and below are the API's
  EXPECT_FALSE(IsConsoleDeepLink("/api"));
  EXPECT_FALSE(IsConsoleDeepLink("/api/nope"));
  EXPECT_FALSE(IsConsoleDeepLink("/api/devices/x/y"));
  EXPECT_FALSE(IsConsoleDeepLink("/assets/missing-1234.js"));
  EXPECT_FALSE(IsConsoleDeepLink("/roost.db"));
  EXPECT_FALSE(IsConsoleDeepLink("/assets/../roost.db"));
}

TEST(ConsoleAssets, DeepLinksGetIndexOthers404) {
  ConsoleAssets assets = Built();
  Response deep = assets.Answer(Get("/devices/1234AB/messages"));
  EXPECT_EQ(deep.status, 200);
  EXPECT_EQ(deep.body, kIndex);
  EXPECT_EQ(HeaderOf(deep, "Cache-Control"), "no-cache");
  EXPECT_EQ(assets.Answer(Get("/set-password")).body, kIndex);

  Response api = assets.Answer(Get("/api/nope"));
  EXPECT_EQ(api.status, 404);
  EXPECT_EQ(api.content_type, "application/json");
  EXPECT_NE(api.body.find("no resource at"), std::string::npos);
  EXPECT_EQ(assets.Answer(Get("/assets/missing-1234.js")).status, 404);
  EXPECT_EQ(assets.Answer(Get("/assets/../roost.db")).status, 404);
  EXPECT_EQ(assets.Answer(Get("/assets/..%2F..%2Froost.db")).status, 404);
  EXPECT_EQ(assets.Answer(Get("/bad%zz")).status, 400);
}

TEST(ConsoleAssets, NotBuiltPage) {
  ConsoleAssets empty;
  EXPECT_FALSE(empty.built());
  Response r = empty.Answer(Get("/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("/api/openapi.json"), std::string::npos);
  EXPECT_NE(r.body.find("npm run build"), std::string::npos);
  EXPECT_EQ(r.body.find("<script"), std::string::npos);  // the CSP allows no inline script
  EXPECT_EQ(r.body.find("style"), std::string::npos);
  EXPECT_EQ(empty.Answer(Get("/devices")).status, 200);
  EXPECT_EQ(empty.Answer(Get("/api/nope")).status, 404);
}

class ConsoleDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("roost-console-test-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "assets");
    fs::create_directories(dir / ".hidden");
    Write("index.html", kIndex);
    Write("assets/index-3f9a1c2b.js", kScript);
    Write(".hidden/secret.txt", "no");
    Write(".env", "no");
  }
  void TearDown() override { fs::remove_all(dir); }
  void Write(const std::string& name, const std::string& body) {
    std::ofstream(dir / name, std::ios::binary) << body;
  }
  fs::path dir;
};

TEST_F(ConsoleDirTest, LoadsTheTreeAndSkipsHiddenNames) {
  auto assets = ConsoleAssets::Load(dir.string());
  ASSERT_TRUE(assets.ok()) << assets.status().message();
  EXPECT_TRUE(assets->built());
  EXPECT_EQ(assets->file_count(), 2u);
  EXPECT_EQ(assets->total_bytes(), kIndex.size() + kScript.size());
  ASSERT_NE(assets->Find("/assets/index-3f9a1c2b.js"), nullptr);
  EXPECT_EQ(assets->Find("/assets/index-3f9a1c2b.js")->body, kScript);
  EXPECT_EQ(assets->Find("/.env"), nullptr);
  EXPECT_EQ(assets->Find("/.hidden/secret.txt"), nullptr);
}

TEST_F(ConsoleDirTest, MissingDirectoryIsNotBuilt) {
  auto assets = ConsoleAssets::Load((dir / "nothing-here").string());
  ASSERT_TRUE(assets.ok());
  EXPECT_FALSE(assets->built());
}

TEST_F(ConsoleDirTest, RefusesPastTheLimits) {
  ConsoleLimits small;
  small.max_total_bytes = kIndex.size() + kScript.size() - 1;
  auto big = ConsoleAssets::Load(dir.string(), small);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("larger than"), std::string::npos);
  ConsoleLimits few;
  few.max_files = 1;
  auto many = ConsoleAssets::Load(dir.string(), few);
  ASSERT_FALSE(many.ok());
  EXPECT_NE(many.status().message().find("more than 1 files"), std::string::npos);
}

}  // namespace
}  // namespace roost::http
