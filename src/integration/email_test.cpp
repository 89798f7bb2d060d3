#include "integration/email.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/base64.h"
#include "core/text.h"

namespace roost::integration {
namespace {

namespace fs = std::filesystem;

TEST(EmailMessage, RendersHeadersAndCrlfBody) {
  Email e{"Roost <roost@example.com>",
          {"alice@example.com", "bob@example.org"},
          "Welcome",
          "Hello\nline two\r\nthree"};
  auto m = BuildMessage(e, "Sat, 21 Nov 2026 06:00:00 +0000", "abc@example.com");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_NE(m->find("From: Roost <roost@example.com>\r\n"), std::string::npos);
  EXPECT_NE(m->find("To: alice@example.com, bob@example.org\r\n"), std::string::npos);
  EXPECT_NE(m->find("Subject: Welcome\r\n"), std::string::npos);
  EXPECT_NE(m->find("Message-ID: <abc@example.com>\r\n"), std::string::npos);
  EXPECT_NE(m->find("\r\n\r\nHello\r\nline two\r\nthree\r\n"), std::string::npos);
  EXPECT_EQ(m->find("\n\n"), std::string::npos);
}

TEST(EmailMessage, TheBodyKeepsTabsAndLineBreaksAndLosesNulAndOtherControls) {
  Email e{"roost@example.com",
          {"a@example.com"},
          "s",
          std::string("a\tb\r\n.\r\nX:1\0\x01\x1b[31m\x7f"
                      "end",
                      22)};
  auto m = BuildMessage(e, "d", "id@x");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_NE(m->find("\r\n\r\na\tb\r\n.\r\nX:1[31mend\r\n"), std::string::npos) << *m;
  EXPECT_EQ(m->find('\0'), std::string::npos);
}

// What a mail reader makes of `message`'s body: Python's email package decodes
// it, as an independent reader would. Line ends come back as LF.
std::string DecodedBody(const std::string& message) {
  char path[] = "/tmp/roost-eml-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return "(no temporary file)";
  if (write(fd, message.data(), message.size()) != static_cast<ssize_t>(message.size())) {
    close(fd);
    return "(write failed)";
  }
  close(fd);
  std::string command = std::string("python3 -c 'import email,sys; sys.stdout.buffer.write(") +
                        "email.message_from_binary_file(open(sys.argv[1],\"rb\"))" +
                        ".get_payload(decode=True).replace(b\"\\r\\n\",b\"\\n\"))' " + path;
  std::string out;
  if (FILE* p = popen(command.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
  }
  unlink(path);
  return out;
}

TEST(EmailMessage, ABodyWithALineOverTheMailLimitGoesQuotedPrintableAndDecodesToTheText) {
  std::string line;
  while (line.size() < 3000) line += "temp=21.5 \xC3\xA9t\xC3\xA9 ";  // '=', spaces, UTF-8
  Email e{"roost@example.com",
          {"a@example.com"},
          "s",
          "first\n" + line + "\nends in a space \n\xFF-stray\n.\n"};
  auto m = BuildMessage(e, "d", "id@x");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_NE(m->find("\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"), std::string::npos);
  EXPECT_EQ(m->find("8bit"), std::string::npos);
  size_t body_at = m->find("\r\n\r\n") + 4;
  for (size_t at = body_at; at < m->size();) {
    size_t end = m->find("\r\n", at);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - at, 76u) << m->substr(at, end - at);
    EXPECT_NE(m->substr(at, end - at).back(), ' ');  // nothing a hop may strip
    for (size_t i = at; i < end; ++i) EXPECT_LT(static_cast<unsigned char>((*m)[i]), 0x80);
    at = end + 2;
  }
  EXPECT_EQ(DecodedBody(*m), "first\n" + line + "\nends in a space \n\xEF\xBF\xBD-stray\n.\n");
  // Up to 998 octets a line, the body goes as it is.
  e.body = std::string(998, 'x');
  m = BuildMessage(e, "d", "id@x");
  ASSERT_TRUE(m.ok());
  EXPECT_NE(m->find("Content-Transfer-Encoding: 8bit\r\n\r\n" + std::string(998, 'x') + "\r\n"),
            std::string::npos);
  e.body += "y";
  EXPECT_NE(BuildMessage(e, "d", "id@x")->find("quoted-printable"), std::string::npos);
}

TEST(EmailMessage, EncodesNonAsciiSubject) {
  Email e{"roost@example.com", {"a@example.com"}, "Grüße", "x"};
  auto m = BuildMessage(e, "d", "id@x");
  ASSERT_TRUE(m.ok());
  EXPECT_NE(m->find("Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n"), std::string::npos) << *m;
}

TEST(EmailMessage, FoldsALongSubjectIntoEncodedWordsOfAtMost75Characters) {
  // 1 500 ASCII characters, then 400 of two bytes each: unfolded, either made a
  // header line longer than the 998 bytes a mail server takes.
  for (const std::string& subject : {std::string(1500, 'a') + " 5A0001", [] {
                                       std::string s;
                                       for (int i = 0; i < 400; ++i) s += "é";
                                       return s;
                                     }()}) {
    Email e{"roost@example.com", {"a@example.com"}, subject, "x"};
    auto m = BuildMessage(e, "d", "id@x");
    ASSERT_TRUE(m.ok());
    const size_t begin = m->find("Subject: ");
    ASSERT_NE(begin, std::string::npos);
    const size_t end = m->find("\r\nMIME-Version:", begin);
    ASSERT_NE(end, std::string::npos);
    const std::string header = m->substr(begin + 9, end - begin - 9);
    // Folded lines of one encoded-word each; unfolded and decoded: the subject.
    std::string decoded;
    size_t at = 0;
    for (;;) {
      const size_t next = header.find("\r\n ", at);
      const std::string word = header.substr(at, next == std::string::npos ? next : next - at);
      EXPECT_LE(word.size(), 75u) << word;
      ASSERT_TRUE(word.starts_with("=?UTF-8?B?") && word.ends_with("?=")) << word;
      auto text_or = DecodeBase64(word.substr(10, word.size() - 12));
      ASSERT_TRUE(text_or.ok()) << word;
      const std::string& text = *text_or;
      EXPECT_TRUE(IsValidUtf8(text)) << "a word cut a UTF-8 sequence: " << word;
      decoded += text;
      if (next == std::string::npos) break;
      at = next + 3;
    }
    EXPECT_EQ(decoded, subject);
  }
  // An ASCII subject that fits a line goes as it is.
  Email e{"roost@example.com", {"a@example.com"}, std::string(900, 'b'), "x"};
  EXPECT_NE(BuildMessage(e, "d", "id@x")->find("Subject: " + std::string(900, 'b') + "\r\n"),
            std::string::npos);
}

TEST(EmailMessage, RefusesHeaderInjectionAndBadAddresses) {
  Email base{"roost@example.com", {"a@example.com"}, "hi", "x"};
  Email e = base;
  e.subject = "hi\r\nBcc: victim@example.com";
  EXPECT_FALSE(BuildMessage(e, "d", "i").ok());
  e = base;
  e.to = {"a@example.com\r\nBcc: v@example.com"};
  EXPECT_FALSE(BuildMessage(e, "d", "i").ok());
  e = base;
  e.to = {};
  EXPECT_FALSE(BuildMessage(e, "d", "i").ok());
  for (const char* bad : {"", "nobody", "@example.com", "a@", "a@b@c", "a b@c", "a<b@c", "a,b@c"}) {
    EXPECT_FALSE(ValidateAddress(bad).ok()) << bad;
  }
  EXPECT_TRUE(ValidateAddress("first.last+tag@sub.example.com").ok());
  // The refusal quotes the address with its control characters escaped.
  EXPECT_EQ(ValidateAddress("a@b.c\r\nBcc: x@y.z\x1b[31m").status().message(),
            "email address 'a@b.c\\x0D\\x0ABcc: x@y.z\\x1B[31m' must be local@domain");
  EXPECT_EQ(ValidateAddress("a@b.c\r\nX").status().message(),
            "email address 'a@b.c\\x0D\\x0AX' contains a character not allowed here");
}

// A real SMTP server (aiosmtpd) in a child process, storing what it receives.
class SmtpSink {
 public:
  SmtpSink() {
    char tmpl[] = "/tmp/roost-smtp-XXXXXX";
    dir_ = mkdtemp(tmpl);
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) std::abort();
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[1]);
      close(out[0]);
      execl("/usr/bin/python3", "python3", ROOST_SMTP_SINK, dir_.c_str(), nullptr);
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    std::string line;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
    close(out[0]);
    if (line.rfind("PORT ", 0) == 0) port_ = static_cast<uint16_t>(std::stoi(line.substr(5)));
  }
  ~SmtpSink() {
    close(stdin_);
    int status = 0;
    waitpid(pid_, &status, 0);
    fs::remove_all(dir_);
  }
  uint16_t port() const { return port_; }
  // Waits up to 10 s for message `n` (1-based); returns "" on timeout.
  std::string Message(int n, std::string* envelope = nullptr) const {
    fs::path eml = fs::path(dir_) / (std::to_string(n) + ".eml");
    for (int i = 0; i < 1000 && !fs::exists(eml); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto read_all = [](const fs::path& p) {
      std::ifstream f(p, std::ios::binary);
      return std::string{std::istreambuf_iterator<char>(f), {}};
    };
    if (envelope) *envelope = read_all(fs::path(dir_) / (std::to_string(n) + ".env"));
    return read_all(eml);
  }

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int stdin_ = -1;
  uint16_t port_ = 0;
};

TEST(SmtpSender, DeliversToARealSmtpServer) {
  SmtpSink sink;
  ASSERT_NE(sink.port(), 0) << "the SMTP sink did not start (is python3-aiosmtpd installed?)";
  SmtpSettings settings;
  settings.host = "127.0.0.1";
  settings.port = sink.port();
  SmtpSender sender(settings);
  Email e{"Roost <roost@example.com>",
          {"alice@example.com"},
          "Set your Roost password",
          "Open this link:\nhttps://roost.example.com/invite/abc\n.\nA line with a dot above."};
  Status s = sender.Send(e);
  ASSERT_TRUE(s.ok()) << s.message();
  std::string envelope;
  std::string got = sink.Message(1, &envelope);
  EXPECT_EQ(envelope, "roost@example.com\nalice@example.com\n");
  EXPECT_NE(got.find("Subject: Set your Roost password"), std::string::npos) << got;
  EXPECT_NE(got.find("https://roost.example.com/invite/abc\r\n.\r\nA line with a dot above."),
            std::string::npos)
      << got;
}

TEST(SmtpSender, ReportsAnUnreachableServer) {
  SmtpSettings settings;
  settings.host = "127.0.0.1";
  settings.port = 1;  // nothing listens there
  settings.timeout_ms = 2000;
  settings.password = "hunter2-secret";
  settings.user = "u";
  std::string detail;
  Status s = SmtpSender(settings).Send({"r@example.com", {"a@example.com"}, "s", "b"}, &detail);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  // Tenants read the message on their deliveries: the kind of failure only.
  EXPECT_EQ(s.message(), "the mail server could not be reached");
  // The operator's log gets where and how.
  EXPECT_NE(detail.find("smtp://127.0.0.1:1"), std::string::npos) << detail;
  EXPECT_EQ(detail.find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace roost::integration
