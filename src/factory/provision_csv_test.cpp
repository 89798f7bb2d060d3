#include "factory/provision_csv.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/hex.h"

namespace roost::factory {
namespace {

const std::string kHead =
    "MatchX Device Provisioning,,,,,\n"
    "manufacturerName,MatchX GmbH,,,,\n"
    "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI\n";
const std::string kReportHead =
    "MatchX Device Provisioning,,,,,,\n"
    "manufacturerName,MatchX GmbH,,,,,\n"
    "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI,provisionIdHash\n";

std::string HashOf(const std::string& pid, std::string_view suffix = ".MatchX") {
  return ToHex(provisioning::ProvisionIdHash(pid, suffix));
}

CsvError ExpectOneError(std::string_view text, size_t line, std::string_view needle) {
  auto p = ParseProvisionCsv(text);
  EXPECT_FALSE(p.ok());
  EXPECT_TRUE(p.csv.rows.empty()) << "rows must not be returned when the parse fails";
  if (p.errors.size() != 1) {
    ADD_FAILURE() << "expected one error, got " << p.errors.size();
    for (const auto& e : p.errors) ADD_FAILURE() << e.ToString();
    return p.errors.empty() ? CsvError{} : p.errors.front();
  }
  const CsvError& e = p.errors.front();
  EXPECT_EQ(e.line, line) << e.ToString();
  EXPECT_NE(e.message.find(needle), std::string::npos)
      << "message '" << e.message << "' lacks '" << needle << "'";
  return e;
}

// ---- Accepted input ---------------------------------------------------------

TEST(ProvisionCsv, ParsesSeedRequestWithFixedDevEui) {
  std::string text = kHead;
  for (int i = 0; i < 8; ++i) {
    text += ",M-1234,S00000" + std::to_string(i) + ",Y,000000fffe00000" + std::to_string(i) +
            ",0000000000000000\n";
  }
  auto p = ParseProvisionCsv(text);
  ASSERT_TRUE(p.ok()) << p.errors.front().ToString();
  EXPECT_EQ(p.csv.manufacturer, "MatchX GmbH");
  EXPECT_FALSE(p.csv.is_report);
  ASSERT_EQ(p.csv.rows.size(), 8u);
  const ProvisionRow& r = p.csv.rows[3];
  EXPECT_EQ(r.line, 7u);
  EXPECT_EQ(r.provision_id, "");
  EXPECT_EQ(r.model, "M-1234");
  EXPECT_EQ(r.serial_number, "S000003");
  EXPECT_TRUE(r.fixed_dev_eui);
  ASSERT_TRUE(r.dev_eui.has_value());
  EXPECT_EQ(r.dev_eui->ToString(), "000000fffe000003");
  EXPECT_EQ(r.app_eui.ToU64(), 0u);
}

TEST(ProvisionCsv, ParsesSeedRequestWithRandomDevEui) {
  auto p = ParseProvisionCsv(kHead + ",M-1234,S000000,N,,0000000000000000\n" +
                             ",M-1234,S000001,N,,0000000000000000\n");
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p.csv.rows.size(), 2u);
  EXPECT_FALSE(p.csv.rows[0].fixed_dev_eui);
  EXPECT_FALSE(p.csv.rows[0].dev_eui.has_value());
  EXPECT_EQ(p.csv.rows[1].serial_number, "S000001");
}

TEST(ProvisionCsv, AcceptsCrlfBomAndTrailingBlankLines) {
  std::string text =
      "\xEF\xBB\xBFMatchX Device Provisioning,,,,,\r\n"
      "manufacturerName,Acme,,,,\r\n"
      "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI\r\n"
      ",M,S1,N,,0000000000000000\r\n"
      ",,,,,\r\n"
      "\r\n"
      ",M,S2,N,,0000000000000000\r\n"
      "\r\n"
      ",,,,,\r\n";
  auto p = ParseProvisionCsv(text);
  ASSERT_TRUE(p.ok()) << p.errors.front().ToString();
  ASSERT_EQ(p.csv.rows.size(), 2u);
  EXPECT_EQ(p.csv.manufacturer, "Acme");
  EXPECT_EQ(p.csv.rows[0].line, 4u);
  EXPECT_EQ(p.csv.rows[1].line, 7u);
  EXPECT_EQ(p.csv.rows[1].serial_number, "S2");
}

TEST(ProvisionCsv, AcceptsLoneCrLineEndsAndNoFinalNewline) {
  std::string text =
      "MatchX Device Provisioning\rmanufacturerName,Acme\r"
      "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI\r"
      ",M,S1,N,,0000000000000000\r,M,S2,N,,0000000000000000";
  auto p = ParseProvisionCsv(text);
  ASSERT_TRUE(p.ok()) << p.errors.front().ToString();
  ASSERT_EQ(p.csv.rows.size(), 2u);
  EXPECT_EQ(p.csv.rows[1].line, 5u);
}

TEST(ProvisionCsv, IgnoresEmptyPaddingCellsPastTheLastColumn) {
  auto p = ParseProvisionCsv(
      "MatchX Device Provisioning,,,,,,,,,\n"
      "manufacturerName,Acme,,,,,,,,\n"
      "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI,,,,\n"
      ",M,S1,N,,0000000000000000,,, ,\n");
  ASSERT_TRUE(p.ok()) << p.errors.front().ToString();
  EXPECT_EQ(p.csv.rows.size(), 1u);
}

TEST(ProvisionCsv, QuotedFieldsFollowRfc4180) {
  auto p = ParseProvisionCsv(
      "\"MatchX Device Provisioning\",,,,,\n"
      "manufacturerName,\"Acme, Inc. \"\"Labs\"\"\",,,,\n"
      "\"provisionId\",\"model\",serialNumber,fixedDevEUI,devEUI,appEUI\n"
      "\"\", \"M,1\" ,\"S\"\"1\",\"Y\",\"00-00-00-FF-FE-00-00-01\",\"0000000000000000\"\n");
  ASSERT_TRUE(p.ok()) << p.errors.front().ToString();
  EXPECT_EQ(p.csv.manufacturer, "Acme, Inc. \"Labs\"");
  ASSERT_EQ(p.csv.rows.size(), 1u);
  EXPECT_EQ(p.csv.rows[0].model, "M,1");
  EXPECT_EQ(p.csv.rows[0].serial_number, "S\"1");
  EXPECT_EQ(p.csv.rows[0].dev_eui->ToString(), "000000fffe000001");
}

TEST(ProvisionCsv, CanonicalisesCaseAndSeparators) {
  auto p = ParseProvisionCsv(
      "MatchX Device Provisioning,,,,,\n"
      "MANUFACTURERNAME,Acme,,,,\n"
      "ProvisionID,Model,SerialNumber,FixedDevEui,DevEui,AppEui\n"
      "abcdefghijklmnopqrst,M,S1,y,AA:BB:CC:FF:FE:DD:EE:FF,00-00-00-00-00-00-00-01\n"
      " ABCDEFGHIJKLMNOPQRS2 , M , S2 ,n,,0000000000000000\n");
  ASSERT_TRUE(p.ok()) << p.errors.front().ToString();
  ASSERT_EQ(p.csv.rows.size(), 2u);
  EXPECT_EQ(p.csv.rows[0].provision_id, "ABCDEFGHIJKLMNOPQRST");
  EXPECT_TRUE(p.csv.rows[0].fixed_dev_eui);
  EXPECT_EQ(p.csv.rows[0].dev_eui->ToString(), "aabbccfffeddeeff");
  EXPECT_EQ(p.csv.rows[0].app_eui.ToString(), "0000000000000001");
  EXPECT_EQ(p.csv.rows[1].provision_id, "ABCDEFGHIJKLMNOPQRS2");
  EXPECT_EQ(p.csv.rows[1].model, "M");
  EXPECT_EQ(p.csv.rows[1].serial_number, "S2");
  EXPECT_FALSE(p.csv.rows[1].fixed_dev_eui);
}

TEST(ProvisionCsv, ParsesReportAndChecksHashes) {
  std::string pid = "TESTPIDOOOOOOOOOOOOO";
  std::string text = kReportHead + pid + ",M,S1,N,,0000000000000000," + HashOf(pid) + "\n";
  auto p = ParseProvisionCsv(text);
  ASSERT_TRUE(p.ok()) << p.errors.front().ToString();
  EXPECT_TRUE(p.csv.is_report);
  ASSERT_EQ(p.csv.rows.size(), 1u);
  EXPECT_EQ(p.csv.rows[0].provision_id_hash, HashOf(pid));
}

TEST(ProvisionCsv, ReportHashMatchesTheSeedVector) {
  std::ifstream in(std::string(ROOST_VECTORS_DIR) + "/provisioning.json");
  ASSERT_TRUE(in) << "vectors not found";
  auto v = nlohmann::json::parse(in)["seed"]["provisionIdHash"];
  std::string pid = v["provisionId"];
  std::string sha = v["sha256"];
  // Uppercase hash on input is accepted and stored lowercase.
  std::string upper = sha;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto p = ParseProvisionCsv(kReportHead + pid + ",M,S1,N,,0000000000000000," + upper + "\n");
  ASSERT_TRUE(p.ok()) << p.errors.front().ToString();
  EXPECT_EQ(p.csv.rows[0].provision_id_hash, sha);
}

TEST(ProvisionCsv, ReportHashUsesTheConfiguredSuffix) {
  std::string pid = "ABCDEFGHIJKLMNOPQRST";
  std::string text =
      kReportHead + pid + ",M,S1,N,,0000000000000000," + HashOf(pid, ".Other") + "\n";
  EXPECT_FALSE(ParseProvisionCsv(text).ok());
  EXPECT_TRUE(ParseProvisionCsv(text, {.hash_suffix = ".Other"}).ok());
}

// ---- Rejected input: one test per kind ----------------------------------------

TEST(ProvisionCsvErrors, EmptyFile) {
  ExpectOneError("", 1, "empty file");
  ExpectOneError("\xEF\xBB\xBF", 1, "empty file");
}

TEST(ProvisionCsvErrors, BadSignatureLine) {
  std::string text = kHead + ",M,S1,N,,0000000000000000\n";
  text.replace(0, 6, "Matchy");
  ExpectOneError(text, 1, "signature");
  ExpectOneError("MatchX Device Provisioning,x,,,,\n" + kHead.substr(kHead.find('\n') + 1) +
                     ",M,S1,N,,0000000000000000\n",
                 1, "signature");
}

TEST(ProvisionCsvErrors, BlankLineBeforeSignature) {
  // Nothing may come before the signature; the lines after it are then out of place too.
  auto p = ParseProvisionCsv("\n" + kHead + ",M,S1,N,,0000000000000000\n");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.errors[0].line, 1u);
  EXPECT_NE(p.errors[0].message.find("signature"), std::string::npos);
}

TEST(ProvisionCsvErrors, MissingManufacturerLine) {
  ExpectOneError("MatchX Device Provisioning,,,,,\n", 2, "manufacturerName");
}

TEST(ProvisionCsvErrors, WrongManufacturerLabel) {
  ExpectOneError(
      "MatchX Device Provisioning,,,,,\nmaker,Acme,,,,\n"
      "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI\n,M,S1,N,,0000000000000000\n",
      2, "manufacturerName");
}

TEST(ProvisionCsvErrors, EmptyManufacturerName) {
  ExpectOneError(
      "MatchX Device Provisioning,,,,,\nmanufacturerName, ,,,,\n"
      "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI\n,M,S1,N,,0000000000000000\n",
      2, "manufacturer name is empty");
}

TEST(ProvisionCsvErrors, TextAfterManufacturerName) {
  ExpectOneError(
      "MatchX Device Provisioning,,,,,\nmanufacturerName,Acme,x,,,\n"
      "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI\n,M,S1,N,,0000000000000000\n",
      2, "after the manufacturer name");
}

TEST(ProvisionCsvErrors, ControlCharacterInManufacturerName) {
  ExpectOneError(
      "MatchX Device Provisioning,,,,,\nmanufacturerName,\"Ac\nme\",,,,\n"
      "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI\n,M,S1,N,,0000000000000000\n",
      2, "control character");
}

// Text stored and shown as it came: a Latin-1 export's bytes are refused,
// naming the line and the column, not stored and shown altered.
TEST(ProvisionCsvErrors, ModelOrSerialNumberNotUtf8) {
  ExpectOneError(kHead + ",Mod\xe8le,S1,N,,0000000000000000\n", 4, "model is not valid UTF-8");
  ExpectOneError(kHead +
                     ",M,S\xff"
                     "00,N,,0000000000000000\n",
                 4, "serialNumber is not valid UTF-8");
  ExpectOneError(
      "MatchX Device Provisioning,,,,,\nmanufacturerName,Acm\xe9,,,,\n"
      "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI\n,M,S1,N,,0000000000000000\n",
      2, "manufacturer name is not valid UTF-8");
}

TEST(ProvisionCsvErrors, MissingHeader) {
  ExpectOneError("MatchX Device Provisioning,,,,,\nmanufacturerName,Acme,,,,\n", 3, "header");
}

TEST(ProvisionCsvErrors, WrongHeader) {
  const std::string start = "MatchX Device Provisioning,,,,,\nmanufacturerName,Acme,,,,\n";
  const std::string row = ",M,S1,N,,0000000000000000\n";
  ExpectOneError(start + "provisionId,model,serial,fixedDevEUI,devEUI,appEUI\n" + row, 3,
                 "expected the header");
  ExpectOneError(start + "model,provisionId,serialNumber,fixedDevEUI,devEUI,appEUI\n" + row, 3,
                 "expected the header");
  ExpectOneError(start + "provisionId,model,serialNumber,fixedDevEUI,devEUI\n" + row, 3,
                 "expected the header");
  ExpectOneError(start + "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI,hash\n" + row, 3,
                 "expected the header");
}

TEST(ProvisionCsvErrors, NoDevices) {
  ExpectOneError(kHead + ",,,,,\n\n", 3, "no devices");
}

TEST(ProvisionCsvErrors, FixedYWithoutDevEui) {
  ExpectOneError(kHead + ",M,S1,Y,,0000000000000000\n", 4, "fixedDevEUI is Y but devEUI is empty");
}

TEST(ProvisionCsvErrors, FixedYWithInvalidDevEui) {
  ExpectOneError(kHead + ",M,S1,Y,000000fffe00000,0000000000000000\n", 4, "devEUI");
  ExpectOneError(kHead + ",M,S1,Y,000000fffe00000g,0000000000000000\n", 4, "not a hex digit");
}

TEST(ProvisionCsvErrors, FixedNWithDevEui) {
  ExpectOneError(kHead + ",M,S1,N,000000fffe000001,0000000000000000\n", 4,
                 "fixedDevEUI is N but devEUI is given");
}

TEST(ProvisionCsvErrors, BadFixedDevEuiFlag) {
  ExpectOneError(kHead + ",M,S1,yes,000000fffe000001,0000000000000000\n", 4,
                 "fixedDevEUI must be Y or N");
  ExpectOneError(kHead + ",M,S1,,,0000000000000000\n", 4, "fixedDevEUI must be Y or N");
}

TEST(ProvisionCsvErrors, DuplicateSerial) {
  ExpectOneError(kHead + ",M,S1,N,,0000000000000000\n,M,S2,N,,0000000000000000\n" +
                     ",M,S1,N,,0000000000000000\n",
                 6, "serial number 'S1' already on line 4");
}

TEST(ProvisionCsvErrors, DuplicateProvisionIdIgnoringCase) {
  ExpectOneError(kHead + "ABCDEFGHIJKLMNOPQRST,M,S1,N,,0000000000000000\n" +
                     "abcdefghijklmnopqrst,M,S2,N,,0000000000000000\n",
                 5, "Provision ID ABCDEFGHIJKLMNOPQRST already on line 4");
}

TEST(ProvisionCsvErrors, DuplicateDevEuiInAnotherSpelling) {
  ExpectOneError(kHead + ",M,S1,Y,000000fffe000001,0000000000000000\n" +
                     ",M,S2,Y,00-00-00-FF-FE-00-00-01,0000000000000000\n",
                 5, "devEUI 000000fffe000001 already on line 4");
}

TEST(ProvisionCsvErrors, ProvisionIdOutsideAlphabet) {
  // 0, 1, 8 and 9 are not in the RFC 4648 Base32 alphabet.
  for (char bad : {'0', '1', '8', '9', '-', '='}) {
    std::string pid = "ABCDEFGHIJKLMNOPQRST";
    pid[5] = bad;
    ExpectOneError(kHead + pid + ",M,S1,N,,0000000000000000\n", 4, "Base32");
  }
}

TEST(ProvisionCsvErrors, ProvisionIdWrongLength) {
  ExpectOneError(kHead + "ABCDEFGHIJKLMNOPQRS,M,S1,N,,0000000000000000\n", 4,
                 "expected 20 characters, got 19");
  ExpectOneError(kHead + "ABCDEFGHIJKLMNOPQRSTU,M,S1,N,,0000000000000000\n", 4,
                 "expected 20 characters, got 21");
}

TEST(ProvisionCsvErrors, BadAppEui) {
  ExpectOneError(kHead + ",M,S1,N,,00000000000000\n", 4, "appEUI");
  ExpectOneError(kHead + ",M,S1,N,,zz00000000000000\n", 4, "appEUI");
}

TEST(ProvisionCsvErrors, EmptyAppEuiOrMissingCells) {
  ExpectOneError(kHead + ",M,S1,N,,\n", 4, "appEUI is empty");
  ExpectOneError(kHead + ",M,S1,N\n", 4, "appEUI is empty");
}

TEST(ProvisionCsvErrors, EmptyModelOrSerial) {
  ExpectOneError(kHead + ",,S1,N,,0000000000000000\n", 4, "model is empty");
  ExpectOneError(kHead + ",M,,N,,0000000000000000\n", 4, "serialNumber is empty");
}

TEST(ProvisionCsvErrors, ControlCharacterInSerial) {
  ExpectOneError(kHead + ",M,\"S\n1\",N,,0000000000000000\n", 4,
                 "serialNumber contains a control character");
  ExpectOneError(kHead + ",M\x01,S1,N,,0000000000000000\n", 4, "model contains a control");
}

TEST(ProvisionCsvErrors, ValuePastTheLastColumn) {
  ExpectOneError(kHead + ",M,S1,N,,0000000000000000,,extra\n", 4,
                 "'extra' in column 8 (the file has 6 columns)");
}

TEST(ProvisionCsvErrors, UnterminatedQuote) {
  ExpectOneError(kHead + ",M,\"S1,N,,0000000000000000\n", 4, "never closed");
}

TEST(ProvisionCsvErrors, TextAfterClosingQuote) {
  ExpectOneError(kHead + ",M,\"S1\"x,N,,0000000000000000\n", 4,
                 "column 3: text after the closing quote");
}

TEST(ProvisionCsvErrors, QuoteInsideUnquotedField) {
  ExpectOneError(kHead + ",M,S\"1,N,,0000000000000000\n", 4, "column 3: a quote inside");
}

TEST(ProvisionCsvErrors, ReportWithoutProvisionId) {
  ExpectOneError(kReportHead + ",M,S1,N,,0000000000000000," + HashOf("ABCDEFGHIJKLMNOPQRST") + "\n",
                 4, "provisionId is empty");
}

TEST(ProvisionCsvErrors, ReportHashMismatch) {
  ExpectOneError(kReportHead + "ABCDEFGHIJKLMNOPQRST,M,S1,N,,0000000000000000," +
                     HashOf("ABCDEFGHIJKLMNOPQRSS") + "\n",
                 4, "provisionIdHash does not match");
}

TEST(ProvisionCsvErrors, ReportHashNotHex) {
  ExpectOneError(kReportHead + "ABCDEFGHIJKLMNOPQRST,M,S1,N,,0000000000000000,abc\n", 4,
                 "expected 64 hex digits");
  ExpectOneError(kReportHead + "ABCDEFGHIJKLMNOPQRST,M,S1,N,,0000000000000000,\n", 4,
                 "provisionIdHash is empty");
}

TEST(ProvisionCsvErrors, ReportsEveryBadRowWithItsLine) {
  std::string text = kHead +
                     ",M,S1,N,,0000000000000000\n"               // 4 ok
                     ",M,S2,Y,,0000000000000000\n"               // 5 Y without devEUI
                     ",M,\"multi\nline\",N,,0000000000000000\n"  // 6-7 control char
                     ",M,S3,N,,0000000000000000\n"               // 8 ok
                     "1BCDEFGHIJKLMNOPQRST,M,S1,N,,bad\n";       // 9 PID, appEUI, duplicate serial
  auto p = ParseProvisionCsv(text);
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(p.csv.rows.empty());
  std::vector<size_t> lines;
  for (const auto& e : p.errors) lines.push_back(e.line);
  EXPECT_EQ(lines, (std::vector<size_t>{5, 6, 9, 9, 9}));
  EXPECT_NE(p.errors[4].message.find("already on line 4"), std::string::npos);
  EXPECT_EQ(p.errors[0].ToString().rfind("line 5: ", 0), 0u);
}

TEST(ProvisionCsvErrors, BadSignatureStillChecksRows) {
  std::string text = kHead + ",M,S1,Y,,0000000000000000\n";
  text[0] = 'X';
  auto p = ParseProvisionCsv(text);
  ASSERT_EQ(p.errors.size(), 2u);
  EXPECT_EQ(p.errors[0].line, 1u);
  EXPECT_EQ(p.errors[1].line, 4u);
}

// ---- Writing ------------------------------------------------------------------

ProvisionCsv SampleRequest() {
  ProvisionCsv csv;
  csv.manufacturer = "MatchX GmbH";
  for (uint64_t i = 0; i < 2; ++i) {
    ProvisionRow row;
    row.model = "M-1234";
    row.serial_number = "S00000" + std::to_string(i);
    row.fixed_dev_eui = true;
    row.dev_eui = Eui64::FromU64(0x000000fffe000000ULL + i);
    csv.rows.push_back(row);
  }
  return csv;
}

TEST(ProvisionCsvWrite, RequestMatchesTheSeedLayout) {
  EXPECT_EQ(WriteRequestCsv(SampleRequest()),
            "MatchX Device Provisioning,,,,,\n"
            "manufacturerName,MatchX GmbH,,,,\n"
            "provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI\n"
            ",M-1234,S000000,Y,000000fffe000000,0000000000000000\n"
            ",M-1234,S000001,Y,000000fffe000001,0000000000000000\n");
}

TEST(ProvisionCsvWrite, RandomDevEuiRowsHaveABlankDevEui) {
  ProvisionCsv csv = SampleRequest();
  csv.rows.resize(1);
  csv.rows[0].fixed_dev_eui = false;
  csv.rows[0].dev_eui.reset();
  std::string out = WriteRequestCsv(csv);
  EXPECT_NE(out.find("\n,M-1234,S000000,N,,0000000000000000\n"), std::string::npos) << out;
}

TEST(ProvisionCsvWrite, QuotesFieldsThatNeedIt) {
  ProvisionCsv csv = SampleRequest();
  csv.manufacturer = "Acme, \"Labs\"";
  csv.rows[0].model = "M,1";
  std::string out = WriteRequestCsv(csv);
  EXPECT_NE(out.find("manufacturerName,\"Acme, \"\"Labs\"\"\",,,,\n"), std::string::npos) << out;
  EXPECT_NE(out.find(",\"M,1\",S000000,"), std::string::npos) << out;
  auto p = ParseProvisionCsv(out);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.csv.manufacturer, csv.manufacturer);
  EXPECT_EQ(p.csv.rows[0].model, "M,1");
}

TEST(ProvisionCsvWrite, RequestRoundTrips) {
  ProvisionCsv csv = SampleRequest();
  csv.rows[1].provision_id = "ABCDEFGHIJKLMNOPQRST";
  auto p = ParseProvisionCsv(WriteRequestCsv(csv));
  ASSERT_TRUE(p.ok()) << p.errors.front().ToString();
  for (auto& row : p.csv.rows) row.line = 0;
  EXPECT_EQ(p.csv, csv);
}

TEST(ProvisionCsvWrite, ReportFromRequestRoundTrips) {
  ProvisionCsv req = SampleRequest();
  req.rows[0].provision_id = "ABCDEFGHIJKLMNOPQRST";
  auto report = MakeReport(req);
  ASSERT_TRUE(report.ok());
  std::string text = WriteReportCsv(*report);
  EXPECT_EQ(text.substr(0, text.find('\n')), "MatchX Device Provisioning,,,,,,");
  EXPECT_NE(text.find("provisionId,model,serialNumber,fixedDevEUI,devEUI,appEUI,provisionIdHash\n"),
            std::string::npos);
  auto p = ParseProvisionCsv(text);
  ASSERT_TRUE(p.ok()) << p.errors.front().ToString();
  EXPECT_TRUE(p.csv.is_report);
  for (auto& row : p.csv.rows) row.line = 0;
  EXPECT_EQ(p.csv, *report);
}

// ---- Reports and random IDs ---------------------------------------------------

TEST(ProvisionCsvReport, FillsBlankIdsAndHashesEveryRow) {
  ProvisionCsv req = SampleRequest();
  req.rows[1].provision_id = "TESTPIDOOOOOOOOOOOOO";
  int calls = 0;
  auto report = MakeReport(req, ".MatchX", [&] {
    ++calls;
    return std::string("abcdefghijklmnopqrst");
  });
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(report->is_report);
  EXPECT_EQ(report->rows[0].provision_id, "ABCDEFGHIJKLMNOPQRST");
  EXPECT_EQ(report->rows[1].provision_id, "TESTPIDOOOOOOOOOOOOO");
  EXPECT_EQ(report->rows[1].provision_id_hash,
            "c8c7564b46b91c91ef6c4f37bcca8cf7e81baac6eb869dcc62e5fafdd0242497");
  EXPECT_EQ(report->rows[0].provision_id_hash, HashOf("ABCDEFGHIJKLMNOPQRST"));
}

TEST(ProvisionCsvReport, HashSuffixIsASetting) {
  auto report = MakeReport(SampleRequest(), ".Other");
  ASSERT_TRUE(report.ok());
  const auto& row = report->rows[0];
  EXPECT_EQ(row.provision_id_hash, HashOf(row.provision_id, ".Other"));
  EXPECT_NE(row.provision_id_hash, HashOf(row.provision_id));
}

TEST(ProvisionCsvReport, NeverRepeatsAnIdAlreadyInTheFile) {
  ProvisionCsv req = SampleRequest();
  req.rows[1].provision_id = "AAAAAAAAAAAAAAAAAAAA";
  std::vector<std::string> draws = {"AAAAAAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBBBBBB"};
  size_t next = 0;
  auto report = MakeReport(req, ".MatchX", [&] { return draws.at(next++); });
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(next, 2u);
  EXPECT_EQ(report->rows[0].provision_id, "BBBBBBBBBBBBBBBBBBBB");
}

TEST(ProvisionCsvReport, FailsOnABrokenGenerator) {
  ProvisionCsv req = SampleRequest();
  auto repeating = MakeReport(req, ".MatchX", [] { return std::string(20, 'A'); });
  EXPECT_FALSE(repeating.ok());
  auto invalid = MakeReport(req, ".MatchX", [] { return std::string("short"); });
  EXPECT_FALSE(invalid.ok());
  EXPECT_NE(invalid.status().message().find("invalid Provision ID"), std::string::npos);
}

TEST(RandomProvisionId, IsAValidCanonicalId) {
  for (int i = 0; i < 100; ++i) {
    std::string id = RandomProvisionId();
    auto parsed = ParseProvisionId(id);
    ASSERT_TRUE(parsed.ok()) << id;
    EXPECT_EQ(*parsed, id);
  }
}

TEST(RandomProvisionId, ManyAreDistinctAndUseTheWholeAlphabet) {
  auto ids = RandomProvisionIds(2000);
  ASSERT_EQ(ids.size(), 2000u);
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), ids.size());
  std::set<char> chars;
  for (const auto& id : ids) chars.insert(id.begin(), id.end());
  EXPECT_EQ(chars.size(), 32u);  // 40 000 draws: every one of the 32 symbols appears
}

}  // namespace
}  // namespace roost::factory
