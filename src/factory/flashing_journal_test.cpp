#include "factory/flashing_journal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "core/hex.h"
#include "core/testing/temp_dir.h"
#include "crypto/hash.h"

namespace roost::factory {
namespace {

namespace fs = std::filesystem;

JournalBinding TestBinding(uint64_t pairs = 5) {
  JournalBinding b;
  b.pairs = pairs;
  b.mode = CraMode::kEcb;
  b.fingerprint = std::string(64, 'a');
  return b;
}

SigfoxId Id(uint32_t v) {
  return SigfoxId{v};
}

// Seals an arbitrary body the way the journal does, to build lines that pass
// the checksum but break a rule.
std::string Sealed(const std::string& body) {
  crypto::Sha256Digest d = crypto::Sha256(body);
  return body + " " + ToHex(std::span<const uint8_t>(d.data(), 4)) + "\n";
}

std::string BaseJournal() {
  return FormatJournalHeader(TestBinding(), 1700000000000) +
         FormatReserved(0, Id(0x100), 1700000000001) +
         FormatOutcome(PairOutcome::kFlashed, 0, Id(0x100), 1700000000002, "SN-0") +
         FormatReserved(1, Id(0x101), 1700000000003);
}

using roost::testing::TempDir;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Spit(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// --- Format and replay ---------------------------------------------------------

TEST(FlashingJournalFormat, LinesCarryAChecksum) {
  std::string line = FormatReserved(3, Id(0x41A2F0), 1700000000000);
  const std::string prefix = "reserved 3 0041A2F0 1700000000000 ";
  ASSERT_EQ(line.substr(0, prefix.size()), prefix);
  ASSERT_EQ(line.size(), prefix.size() + 8 + 1);
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line, Sealed("reserved 3 0041A2F0 1700000000000"));
  EXPECT_EQ(FormatOutcome(PairOutcome::kFailed, 3, Id(0x2C), 5, ""),
            Sealed("failed 3 0000002C 5 -"));
  EXPECT_EQ(FormatWithdrawn(4, 6), Sealed("withdrawn 4 6"));
}

TEST(FlashingJournalFormat, ReplaysAllRecordKinds) {
  std::string text =
      BaseJournal() + FormatOutcome(PairOutcome::kFailed, 1, Id(0x101), 1700000000004, "") +
      FormatWithdrawn(2, 1700000000005) + FormatReserved(3, Id(0x103), 1700000000006);
  auto state = ParseJournal(text);
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(state->binding, TestBinding());
  EXPECT_EQ(state->created_ms, 1700000000000);
  ASSERT_EQ(state->used(), 4u);
  EXPECT_EQ(state->remaining(), 1u);
  EXPECT_EQ(state->Count(PairOutcome::kFlashed), 1u);
  EXPECT_EQ(state->Count(PairOutcome::kFailed), 1u);
  EXPECT_EQ(state->Count(PairOutcome::kWithdrawn), 1u);
  EXPECT_EQ(state->Count(PairOutcome::kPending), 1u);
  EXPECT_EQ(state->pairs[0].serial, "SN-0");
  EXPECT_EQ(state->pairs[0].outcome_ms, 1700000000002);
  EXPECT_EQ(state->pairs[1].serial, "");
  EXPECT_FALSE(state->pairs[2].id.has_value());
  EXPECT_EQ(state->pairs[3].id, Id(0x103));
  EXPECT_EQ(state->pairs[3].line, 7u);
  EXPECT_FALSE(state->torn_tail);
  EXPECT_EQ(state->valid_bytes, text.size());
  ASSERT_NE(state->FindId(Id(0x101)), nullptr);
  EXPECT_EQ(state->FindId(Id(0x101))->index, 1u);
  EXPECT_EQ(state->FindId(Id(0x999)), nullptr);
}

TEST(FlashingJournalFormat, LaterOutcomeCorrectsAnEarlierOne) {
  std::string text =
      BaseJournal() + FormatOutcome(PairOutcome::kFailed, 0, Id(0x100), 1700000000009, "SN-9");
  auto state = ParseJournal(text);
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(state->pairs[0].outcome, PairOutcome::kFailed);
  EXPECT_EQ(state->pairs[0].serial, "SN-9");
}

TEST(FlashingJournalFormat, TornTailAtEveryCutIsIgnored) {
  std::string base = BaseJournal();
  std::string reserved = FormatReserved(2, Id(0x102), 1700000000010);
  std::string flashed = FormatOutcome(PairOutcome::kFlashed, 1, Id(0x101), 1700000000011, "S1");
  for (const std::string* rec : {&reserved, &flashed}) {
    // Every cut short of the whole line, and a whole line with a damaged byte.
    for (size_t cut = 1; cut <= rec->size(); ++cut) {
      std::string tail = rec->substr(0, cut);
      if (cut == rec->size()) tail[tail.size() - 3] ^= 1;
      auto state = ParseJournal(base + tail);
      ASSERT_TRUE(state.ok()) << "cut " << cut << ": " << state.status().message();
      EXPECT_TRUE(state->torn_tail);
      EXPECT_EQ(state->valid_bytes, base.size());
      EXPECT_EQ(state->used(), 2u);
      EXPECT_EQ(state->torn_may_reserve, rec == &reserved) << "cut " << cut;
      EXPECT_EQ(state->pairs[1].outcome, PairOutcome::kPending);
    }
  }
  // The zeros a power cut can leave after the last record.
  auto zeros = ParseJournal(base + std::string(100, '\0'));
  ASSERT_TRUE(zeros.ok());
  EXPECT_TRUE(zeros->torn_tail);
  EXPECT_TRUE(zeros->torn_may_reserve);
}

TEST(FlashingJournalFormat, DamageBeforeTheLastLineNamesTheLine) {
  std::string lines[] = {FormatJournalHeader(TestBinding(), 1), FormatReserved(0, Id(0x100), 2),
                         FormatReserved(1, Id(0x101), 3), FormatReserved(2, Id(0x102), 4)};
  std::string text = lines[0] + lines[1] + "garbage here\n" + lines[2] + lines[3];
  auto state = ParseJournal(text);
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(state.status().message().find("line 3:"), std::string::npos)
      << state.status().message();

  // A flipped byte inside an earlier record.
  std::string flipped = lines[0] + lines[1] + lines[2] + lines[3];
  flipped[lines[0].size() + 12] = '9';
  auto damaged = ParseJournal(flipped);
  ASSERT_FALSE(damaged.ok());
  EXPECT_NE(damaged.status().message().find("line 2: damaged"), std::string::npos)
      << damaged.status().message();
}

TEST(FlashingJournalFormat, IntactRecordsThatBreakARuleAreErrorsEvenLast) {
  std::string head = FormatJournalHeader(TestBinding(2), 1) + FormatReserved(0, Id(0x100), 2);
  struct Case {
    std::string line;
    std::string expect;
  } cases[] = {
      {FormatReserved(2, Id(0x102), 3), "line 3: reserved: pair 2 out of order, expected pair 1"},
      {FormatOutcome(PairOutcome::kFlashed, 1, Id(0x101), 3, ""),
       "line 3: flashed: pair 1 was never reserved"},
      {FormatOutcome(PairOutcome::kFailed, 0, Id(0x999), 3, ""),
       "line 3: failed: pair 0 was reserved as 00000100 on line 2, not 00000999"},
      {Sealed("bogus 1 2"), "line 3: unknown record type"},
      {Sealed("reserved 1 0000abcd 3"), "line 3: reserved: bad device ID"},
      {Sealed("reserved 1 00000101"), "line 3: reserved: expected 4 fields"},
      {Sealed("reserved 1 00000101 -5"), "line 3: reserved: bad timestamp"},
      {Sealed("flashed 0 00000100 3 bad*serial"), "line 3: flashed: serial number: character 4"},
      {FormatJournalHeader(TestBinding(2), 1), "line 3: a second journal header"},
  };
  for (const Case& c : cases) {
    auto state = ParseJournal(head + c.line);
    ASSERT_FALSE(state.ok()) << c.expect;
    EXPECT_NE(state.status().message().find(c.expect), std::string::npos)
        << state.status().message();
  }
  // More pairs than the file holds.
  std::string full = head + FormatReserved(1, Id(0x101), 3) + FormatReserved(2, Id(0x102), 4);
  auto over = ParseJournal(full);
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.status().message().find("line 4: reserved: pair 2 beyond the file's 2 pairs"),
            std::string::npos)
      << over.status().message();
}

TEST(FlashingJournalFormat, HeaderProblems) {
  EXPECT_EQ(ParseJournal("").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(ParseJournal("roost-bench-jo").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(ParseJournal("roost-bench-journal 1 5 ecb aa").status().code(),
            Status::Code::kNotFound);
  EXPECT_EQ(ParseJournal(std::string(7, '\0')).status().code(), Status::Code::kNotFound);
  // Another file given as the journal is never mistaken for an empty one.
  for (std::string text : {"0041A2F0;6FEE95A9E3756E43\n", "hello", "hello\nworld\n"}) {
    auto state = ParseJournal(text);
    EXPECT_EQ(state.status().code(), Status::Code::kInvalidInput) << text;
    EXPECT_NE(state.status().message().find("line 1: not a bench journal"), std::string::npos)
        << state.status().message();
  }
  EXPECT_NE(ParseJournal(Sealed("roost-bench-journal 2 5 ecb x 1") + "x")
                .status()
                .message()
                .find("line 1: unsupported journal version"),
            std::string::npos);
  EXPECT_NE(ParseJournal(Sealed("roost-bench-journal 1 5 xts " + std::string(64, 'a') + " 1"))
                .status()
                .message()
                .find("line 1: header: bad mode"),
            std::string::npos);
}

TEST(FlashingJournalFormat, SerialNumbers) {
  EXPECT_TRUE(CheckSerial("SN-0001_a.b:c/d+e").ok());
  EXPECT_FALSE(CheckSerial("").ok());
  EXPECT_FALSE(CheckSerial("-").ok());
  EXPECT_FALSE(CheckSerial("has space").ok());
  EXPECT_FALSE(CheckSerial(std::string(65, 'A')).ok());
  EXPECT_TRUE(CheckSerial(std::string(64, 'A')).ok());
}

TEST(FlashingJournalFormat, FingerprintCoversSizeAndEnds) {
  std::array<uint8_t, 32> a{}, b{};
  b[31] = 1;
  std::string base = CraFingerprint(64, a, a);
  EXPECT_EQ(base.size(), 64u);
  EXPECT_NE(base, CraFingerprint(96, a, a));
  EXPECT_NE(base, CraFingerprint(64, b, a));
  EXPECT_NE(base, CraFingerprint(64, a, b));
  EXPECT_EQ(base, CraFingerprint(64, a, a));
}

// --- On disk ----------------------------------------------------------------------

TEST(FlashingJournalFile, BindingOfCraFile) {
  TempDir dir;
  std::string f1 = dir.File("a.bin"), f2 = dir.File("b.bin"), bad = dir.File("bad.bin");
  std::string data(96, 'x');
  Spit(f1, data);
  data[70] = 'y';  // last pair differs
  Spit(f2, data);
  Spit(bad, std::string(40, 'x'));
  auto b1 = BindingOfCraFile(f1, CraMode::kEcb);
  auto b2 = BindingOfCraFile(f2, CraMode::kEcb);
  ASSERT_TRUE(b1.ok()) << b1.status().message();
  ASSERT_TRUE(b2.ok());
  EXPECT_EQ(b1->pairs, 3u);
  EXPECT_NE(b1->fingerprint, b2->fingerprint);
  EXPECT_EQ(b1->fingerprint, BindingOfCraFile(f1, CraMode::kCbc)->fingerprint);
  auto b3 = BindingOfCraFile(bad, CraMode::kEcb);
  ASSERT_FALSE(b3.ok());
  EXPECT_NE(b3.status().message().find(bad), std::string::npos);
  EXPECT_FALSE(BindingOfCraFile(dir.File("missing"), CraMode::kEcb).ok());
}

Result<SigfoxId> FetchIdentity(uint64_t index) {
  return Id(0x1000 + static_cast<uint32_t>(index));
}

TEST(FlashingJournalFile, ReserveRecordAndReplay) {
  TempDir dir;
  std::string path = dir.File("j.log");
  {
    auto j = FlashingJournal::OpenOrCreate(path, TestBinding(3));
    ASSERT_TRUE(j.ok()) << j.status().message();
    auto p0 = (*j)->Reserve(FetchIdentity, 10);
    ASSERT_TRUE(p0.ok()) << p0.status().message();
    EXPECT_EQ(p0->index, 0u);
    EXPECT_EQ(p0->id, Id(0x1000));
    ASSERT_TRUE((*j)->RecordOutcome(0, Id(0x1000), PairOutcome::kFlashed, "SN1", 11).ok());
    auto p1 = (*j)->Reserve(FetchIdentity, 12);
    ASSERT_TRUE(p1.ok());
    EXPECT_EQ(p1->index, 1u);
  }
  // A second open sees what the first wrote.
  auto j = FlashingJournal::OpenOrCreate(path, TestBinding(3));
  ASSERT_TRUE(j.ok()) << j.status().message();
  auto state = (*j)->Read();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->used(), 2u);
  EXPECT_EQ(state->pairs[0].outcome, PairOutcome::kFlashed);
  EXPECT_EQ(state->pairs[0].serial, "SN1");
  EXPECT_EQ(state->pairs[1].outcome, PairOutcome::kPending);

  // Recording an outcome for a pair not reserved with that ID fails.
  EXPECT_EQ((*j)->RecordOutcome(1, Id(0x1000), PairOutcome::kFailed, "", 13).code(),
            Status::Code::kNotFound);
  EXPECT_EQ((*j)->RecordOutcome(7, Id(0x1007), PairOutcome::kFailed, "", 13).code(),
            Status::Code::kNotFound);
  EXPECT_EQ((*j)->RecordOutcome(0, Id(0x1000), PairOutcome::kFailed, "", 13, true).code(),
            Status::Code::kAlreadyExists);
  EXPECT_EQ((*j)->RecordOutcome(1, Id(0x1001), PairOutcome::kPending, "", 13).code(),
            Status::Code::kInvalidInput);
  EXPECT_EQ((*j)->RecordOutcome(1, Id(0x1001), PairOutcome::kFailed, "bad serial", 13).code(),
            Status::Code::kInvalidInput);
  ASSERT_TRUE((*j)->RecordOutcome(1, Id(0x1001), PairOutcome::kFailed, "", 13, true).ok());

  // Only the journal file lines, nothing secret-looking: each ends in a checksum.
  auto reread = ParseJournal(Slurp(path));
  ASSERT_TRUE(reread.ok());
  EXPECT_EQ(reread->Count(PairOutcome::kFailed), 1u);
  EXPECT_EQ(reread->Count(PairOutcome::kFlashed), 1u);
}

TEST(FlashingJournalFile, AllPairsUsed) {
  TempDir dir;
  auto j = FlashingJournal::OpenOrCreate(dir.File("j.log"), TestBinding(2));
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE((*j)->Reserve(FetchIdentity, 1).ok());
  ASSERT_TRUE((*j)->Reserve(FetchIdentity, 2).ok());
  auto none = (*j)->Reserve(FetchIdentity, 3);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Status::Code::kNotFound);
  EXPECT_NE(none.status().message().find("all 2 pairs of the file are used (0 flashed, 0 failed, "
                                         "2 pending)"),
            std::string::npos)
      << none.status().message();
}

TEST(FlashingJournalFile, FailedFetchWritesNothing) {
  TempDir dir;
  std::string path = dir.File("j.log");
  auto j = FlashingJournal::OpenOrCreate(path, TestBinding(2));
  ASSERT_TRUE(j.ok());
  std::string before = Slurp(path);
  auto r = (*j)->Reserve(
      [](uint64_t) -> Result<SigfoxId> { return Status::NotFound("no PAC for 00001000"); }, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "no PAC for 00001000");
  EXPECT_EQ(Slurp(path), before);
  auto again = (*j)->Reserve(FetchIdentity, 2);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->index, 0u);
}

TEST(FlashingJournalFile, BoundToAnotherFileIsRefused) {
  TempDir dir;
  std::string path = dir.File("j.log");
  ASSERT_TRUE(FlashingJournal::OpenOrCreate(path, TestBinding(5)).ok());
  std::string before = Slurp(path);
  JournalBinding other = TestBinding(5);
  other.fingerprint = std::string(64, 'b');
  JournalBinding cbc = TestBinding(5);
  cbc.mode = CraMode::kCbc;
  for (const JournalBinding& b : {other, TestBinding(6), cbc}) {
    auto j = FlashingJournal::OpenOrCreate(path, b);
    ASSERT_FALSE(j.ok());
    EXPECT_NE(j.status().message().find("bound to another file"), std::string::npos)
        << j.status().message();
  }
  EXPECT_EQ(Slurp(path), before);
}

TEST(FlashingJournalFile, ForeignFileIsNeverOverwritten) {
  TempDir dir;
  std::string path = dir.File("ids.txt");
  Spit(path, "0041A2F0;6FEE95A9E3756E43\n");
  auto j = FlashingJournal::OpenOrCreate(path, TestBinding());
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.status().message().find("line 1: not a bench journal"), std::string::npos);
  EXPECT_EQ(Slurp(path), "0041A2F0;6FEE95A9E3756E43\n");
  EXPECT_FALSE(FlashingJournal::Open(dir.File("missing.log")).ok());
}

TEST(FlashingJournalFile, TornHeaderIsRewritten) {
  TempDir dir;
  std::string path = dir.File("j.log");
  Spit(path, FormatJournalHeader(TestBinding(), 1).substr(0, 30));
  auto j = FlashingJournal::OpenOrCreate(path, TestBinding());
  ASSERT_TRUE(j.ok()) << j.status().message();
  auto state = (*j)->Read();
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(state->used(), 0u);
  EXPECT_FALSE(state->torn_tail);
  // Open() alone (no binding) does not initialise a journal.
  std::string empty = dir.File("empty.log");
  Spit(empty, "");
  auto e = FlashingJournal::Open(empty);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->Read().status().code(), Status::Code::kNotFound);
}

TEST(FlashingJournalFile, TornReservationWithdrawsThePair) {
  TempDir dir;
  std::string path = dir.File("j.log");
  std::string text = BaseJournal() + FormatReserved(2, Id(0x102), 5).substr(0, 12);
  Spit(path, text);
  auto j = FlashingJournal::OpenOrCreate(path, TestBinding());
  ASSERT_TRUE(j.ok()) << j.status().message();
  // Opening repaired it: the torn line is gone and pair 2 is withdrawn.
  auto state = ParseJournal(Slurp(path));
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_FALSE(state->torn_tail);
  ASSERT_EQ(state->used(), 3u);
  EXPECT_EQ(state->pairs[2].outcome, PairOutcome::kWithdrawn);
  auto next = (*j)->Reserve(FetchIdentity, 6);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->index, 3u);
}

TEST(FlashingJournalFile, TornOutcomeIsCutOffOnly) {
  TempDir dir;
  std::string path = dir.File("j.log");
  std::string base = BaseJournal();
  Spit(path, base + FormatOutcome(PairOutcome::kFlashed, 1, Id(0x101), 5, "S").substr(0, 20));
  auto j = FlashingJournal::Open(path);
  ASSERT_TRUE(j.ok());
  // Reading does not repair.
  auto read = (*j)->Read();
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->torn_tail);
  EXPECT_FALSE(read->torn_may_reserve);
  ASSERT_TRUE((*j)->RecordOutcome(1, Id(0x101), PairOutcome::kFailed, "S2", 6).ok());
  EXPECT_EQ(Slurp(path), base + FormatOutcome(PairOutcome::kFailed, 1, Id(0x101), 6, "S2"));
  auto next = (*j)->Reserve(FetchIdentity, 7);
  ASSERT_TRUE(next.ok()) << next.status().message();  // the header holds the binding
  EXPECT_EQ(next->index, 2u);
}

TEST(FlashingJournalFile, ConcurrentReserversNeverShareAPair) {
  TempDir dir;
  std::string path = dir.File("j.log");
  constexpr uint64_t kPairs = 200;
  ASSERT_TRUE(FlashingJournal::OpenOrCreate(path, TestBinding(kPairs)).ok());
  std::mutex mu;
  std::multiset<uint64_t> got;
  std::atomic<int> exhausted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      // Each thread has its own open file description, like separate processes.
      auto j = FlashingJournal::OpenOrCreate(path, TestBinding(kPairs));
      ASSERT_TRUE(j.ok());
      while (true) {
        auto p = (*j)->Reserve(FetchIdentity, 1);
        if (!p.ok()) {
          EXPECT_EQ(p.status().code(), Status::Code::kNotFound) << p.status().message();
          ++exhausted;
          return;
        }
        std::lock_guard<std::mutex> lock(mu);
        got.insert(p->index);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(exhausted.load(), 4);
  ASSERT_EQ(got.size(), kPairs);
  EXPECT_EQ(std::set<uint64_t>(got.begin(), got.end()).size(), kPairs);
  auto state = ParseJournal(Slurp(path));
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(state->used(), kPairs);
}

}  // namespace
}  // namespace roost::factory
