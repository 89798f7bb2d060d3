// One test group per row of the identifier table in the factory spec, with
// the inputs it accepts, their canonical forms, and the inputs it refuses.
#include "core/identifiers.h"

#include <gtest/gtest.h>

#include <string>

#include "core/text.h"

namespace roost {
namespace {

// Expects `r` to fail with InvalidInput and a message containing `part`.
template <typename T>
void ExpectError(const Result<T>& r, const std::string& part, const std::string& input) {
  ASSERT_FALSE(r.ok()) << "accepted '" << input << "'";
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput) << input;
  EXPECT_NE(r.status().message().find(part), std::string::npos)
      << "input '" << input << "': message '" << r.status().message() << "' lacks '" << part << "'";
}

// --- Sigfox device ID -------------------------------------------------------------------------

TEST(SigfoxId, AcceptsOneToEightHexDigitsAnyCaseWithOptional0x) {
  struct Case {
    const char* text;
    uint32_t value;
  };
  const Case cases[] = {
      {"2C", 0x2C},
      {"2c", 0x2C},
      {"0x2c", 0x2C},
      {"0X2C", 0x2C},
      {"0000002C", 0x2C},
      {"0x0000002c", 0x2C},
      {"0", 0},
      {"F", 0xF},
      {"FFFFFFFF", 0xFFFFFFFFu},
      {"0xffffffff", 0xFFFFFFFFu},
      {"0041A2F0", 0x0041A2F0},
      {" 41a2f0 \t", 0x0041A2F0},
      {"0x0", 0},
  };
  for (const auto& c : cases) {
    auto id = ParseSigfoxId(c.text);
    ASSERT_TRUE(id.ok()) << c.text << ": " << id.status().message();
    EXPECT_EQ(id->value, c.value) << c.text;
  }
}

TEST(SigfoxId, RendersApiAndFileForms) {
  EXPECT_EQ(ParseSigfoxId("0x2c")->ToApi(), "2C");
  EXPECT_EQ(ParseSigfoxId("0x2c")->ToFile(), "0000002C");
  EXPECT_EQ(ParseSigfoxId("0041a2f0")->ToApi(), "41A2F0");
  EXPECT_EQ(ParseSigfoxId("0041a2f0")->ToFile(), "0041A2F0");
  EXPECT_EQ(ParseSigfoxId("0")->ToApi(), "0");
  EXPECT_EQ(ParseSigfoxId("0")->ToFile(), "00000000");
  EXPECT_EQ(ParseSigfoxId("ffffffff")->ToApi(), "FFFFFFFF");
  // Canonical forms parse back to the same ID.
  for (uint32_t v : {0u, 1u, 0x2Cu, 0x1000u, 0xDEADBEEFu, 0xFFFFFFFFu}) {
    SigfoxId id{v};
    EXPECT_EQ(ParseSigfoxId(id.ToApi())->value, v);
    EXPECT_EQ(ParseSigfoxId(id.ToFile())->value, v);
    EXPECT_EQ(id.ToFile().size(), 8u);
  }
}

TEST(SigfoxId, RejectsBadInput) {
  ExpectError(ParseSigfoxId(""), "expected 1 to 8 hex digits, got 0", "");
  ExpectError(ParseSigfoxId("0x"), "expected 1 to 8 hex digits, got 0", "0x");
  ExpectError(ParseSigfoxId("123456789"), "expected 1 to 8 hex digits, got 9", "123456789");
  ExpectError(ParseSigfoxId("0x123456789"), "got 9", "0x123456789");
  ExpectError(ParseSigfoxId("2G"), "not a hex digit at position 2", "2G");
  ExpectError(ParseSigfoxId("0x2G"), "not a hex digit at position 4", "0x2G");
  ExpectError(ParseSigfoxId("-1"), "not a hex digit at position 1", "-1");
  ExpectError(ParseSigfoxId("x2C"), "not a hex digit at position 1", "x2C");
  ExpectError(ParseSigfoxId("0x0x1"), "not a hex digit", "0x0x1");
  ExpectError(ParseSigfoxId("2C 3D"), "not a hex digit at position 3", "2C 3D");
}

// --- PAC --------------------------------------------------------------------------------------

TEST(Pac, SixteenHexDigitsCanonicalUppercase) {
  EXPECT_EQ(*ParsePac("6fee95a9e3756e43"), "6FEE95A9E3756E43");
  EXPECT_EQ(*ParsePac("6FEE95A9E3756E43"), "6FEE95A9E3756E43");
  EXPECT_EQ(*ParsePac(" 0000000000000000\r\n"), "0000000000000000");
}

TEST(Pac, RejectsOtherLengthsAndNonHex) {
  ExpectError(ParsePac("6FEE95A9E3756E4"), "expected 16 hex digits, got 15", "15 digits");
  ExpectError(ParsePac("6FEE95A9E3756E431"), "expected 16 hex digits, got 17", "17 digits");
  ExpectError(ParsePac(""), "got 0", "empty");
  ExpectError(ParsePac("0x6FEE95A9E3756E"), "position 2", "0x prefix");
  ExpectError(ParsePac("6FEE95A9E3756E4G"), "not a hex digit at position 16", "G");
  ExpectError(ParsePac("6FEE 95A9E3756E4"), "position 5", "inner space");
  // A PAC is a secret, and a mistyped one is nearly the real one: never quoted.
  for (const char* bad : {"6FEE95A9E3756E4", "6FEE95A9E3756E4G", "6FEE95A9E3756E431"}) {
    EXPECT_EQ(ParsePac(bad).status().message().find("6FEE"), std::string::npos) << bad;
  }
}

// --- KEY (NAK) and manufacturer encryption key -------------------------------------------------

TEST(Key128, ThirtyTwoHexDigits) {
  auto key = ParseKey128("000102030405060708090a0B0c0D0e0F");
  ASSERT_TRUE(key.ok());
  for (size_t i = 0; i < 16; ++i) EXPECT_EQ((*key)[i], i);
  EXPECT_TRUE(ParseKey128(" 2B7E151628AED2A6ABF7158809CF4F3C\n").ok());
}

TEST(Key128, RejectsBadKeysWithoutEchoingThem) {
  const std::string secretish = "2B7E151628AED2A6ABF7158809CF4F3";  // 31 digits
  ExpectError(ParseKey128(secretish), "expected 32 hex digits, got 31", "31 digits");
  EXPECT_EQ(ParseKey128(secretish).status().message().find(secretish), std::string::npos);
  const std::string with_bad = "2B7E151628AED2A6ABF7158809CF4F3Z";
  ExpectError(ParseKey128(with_bad), "not a hex digit at position 32", "Z");
  EXPECT_EQ(ParseKey128(with_bad).status().message().find("2B7E"), std::string::npos);
  ExpectError(ParseKey128(secretish + "C0"), "got 33", "33 digits");
}

// --- Product certificate ---------------------------------------------------------------------

TEST(ProductCertificate, AcceptsUnderscoreSpaceOrDash) {
  EXPECT_EQ(*ParseProductCertificate("P_0001_AFAF_01"), "P_0001_AFAF_01");
  EXPECT_EQ(*ParseProductCertificate("P 0004 D356 03"), "P_0004_D356_03");
  EXPECT_EQ(*ParseProductCertificate("P-0004-D356-03"), "P_0004_D356_03");
  EXPECT_EQ(*ParseProductCertificate("p_0004_d356_03"), "P_0004_D356_03");
  EXPECT_EQ(*ParseProductCertificate("  P-abcd-ef01-0a "), "P_ABCD_EF01_0A");
}

TEST(ProductCertificate, RejectsBadGroups) {
  struct Case {
    const char* text;
    const char* why;
  };
  const Case cases[] = {
      {"", "must start with P"},
      {"Q_0004_D356_03", "must start with P"},
      {"0004_D356_03", "must start with P"},
      {"P0004_D356_03", "missing separator before group 1"},
      {"P_0004D356_03", "missing separator before group 2"},
      {"P_0004_D35603", "missing separator before group 3"},
      {"P.0004.D356.03", "missing separator before group 1"},
      {"P_0004_D356", "missing separator before group 3"},
      {"P_0004_D356_", "group 3 too short"},
      {"P_0004_D356_3", "group 3 too short"},
      {"P_004_D356_03", "group 1 is not hex"},
      {"P_0004_D3G6_03", "group 2 is not hex"},
      {"P_0004_D356_0Z", "group 3 is not hex"},
      {"P_0004_D356_031", "unexpected text after the revision"},
      {"P_0004_D356_03_", "unexpected text after the revision"},
      {"P__0004_D356_03", "group 1 is not hex"},
  };
  for (const auto& c : cases) {
    auto r = ParseProductCertificate(c.text);
    ExpectError(r, c.why, c.text);
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("P_0004_D356_03"), std::string::npos)
          << "the error shows the expected form";
    }
  }
}

// --- Provision ID ----------------------------------------------------------------------------

TEST(ProvisionId, TwentyBase32CharactersCaseInsensitive) {
  EXPECT_EQ(*ParseProvisionId("PROVISIONIDOOOOOOOOO"), "PROVISIONIDOOOOOOOOO");
  EXPECT_EQ(*ParseProvisionId("provisionidooooooooo"), "PROVISIONIDOOOOOOOOO");
  EXPECT_EQ(*ParseProvisionId("TestPidOOOOOOOOOOOOO"), "TESTPIDOOOOOOOOOOOOO");
  EXPECT_EQ(*ParseProvisionId("ABCDEFGHIJKLMNOPQRST"), "ABCDEFGHIJKLMNOPQRST");
  EXPECT_EQ(*ParseProvisionId("UVWXYZ234567UVWXYZ23"), "UVWXYZ234567UVWXYZ23");
  EXPECT_EQ(*ParseProvisionId(" SERIALNUMBEROOOOOOOO\r\n"), "SERIALNUMBEROOOOOOOO");
}

TEST(ProvisionId, AlphabetIsExactlyRfc4648Base32) {
  for (int i = 0; i < 256; ++i) {
    const char c = static_cast<char>(i);
    const bool want = (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7');
    EXPECT_EQ(IsBase32Char(c), want) << i;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;  // trimmed at the ends
    std::string pid(19, 'A');
    pid += c;
    const bool lower_ok = c >= 'a' && c <= 'z';
    EXPECT_EQ(ParseProvisionId(pid).ok(), want || lower_ok) << "last char " << i;
  }
}

TEST(ProvisionId, RejectsBadLengthAndCharacters) {
  ExpectError(ParseProvisionId(""), "expected 20 characters, got 0", "empty");
  ExpectError(ParseProvisionId("PROVISIONIDOOOOOOOO"), "expected 20 characters, got 19", "19");
  ExpectError(ParseProvisionId("PROVISIONIDOOOOOOOOOO"), "got 21", "21");
  ExpectError(ParseProvisionId("PROVISIONID0OOOOOOOO"), "'0' at position 12", "digit 0");
  ExpectError(ParseProvisionId("1ROVISIONIDOOOOOOOOO"), "'1' at position 1", "digit 1");
  ExpectError(ParseProvisionId("PROVISIONIDOOOOOOOO8"), "'8' at position 20", "digit 8");
  ExpectError(ParseProvisionId("PROVISIONIDOOOOOOOO9"), "Base32 alphabet", "digit 9");
  ExpectError(ParseProvisionId("PROVISIONIDOOOOOOOO="), "'=' at position 20", "padding");
  ExpectError(ParseProvisionId("PROVISION-DOOOOOOOOO"), "'-' at position 10", "dash");
  ExpectError(ParseProvisionId("PROVISION DOOOOOOOOO"), "' ' at position 10", "space");
}

// --- EUI-64 ----------------------------------------------------------------------------------

TEST(Eui64, AcceptsPlainDashAndColonForms) {
  const char* forms[] = {
      "010203fffe040506",        "010203FFFE040506",          "01-02-03-FF-FE-04-05-06",
      "01:02:03:ff:fe:04:05:06", " 01-02-03-ff-fe-04-05-06 ",
  };
  for (const char* text : forms) {
    auto eui = ParseEui64(text);
    ASSERT_TRUE(eui.ok()) << text << ": " << eui.status().message();
    EXPECT_EQ(eui->ToString(), "010203fffe040506") << text;
    EXPECT_EQ(eui->ToU64(), 0x010203fffe040506ull);
  }
}

TEST(Eui64, RoundTripsThroughU64) {
  for (uint64_t v : {0ull, 1ull, 0x0000000000000100ull, 0x70b3d57ed0000000ull, ~0ull}) {
    Eui64 e = Eui64::FromU64(v);
    EXPECT_EQ(e.ToU64(), v);
    EXPECT_EQ(ParseEui64(e.ToString())->ToU64(), v);
    EXPECT_EQ(e.ToString().size(), 16u);
  }
  EXPECT_EQ(Eui64::FromU64(0x70b3d57ed0000001ull).bytes[0], 0x70);
  EXPECT_EQ(Eui64::FromU64(0x70b3d57ed0000001ull).bytes[7], 0x01);
  EXPECT_LT(Eui64::FromU64(1), Eui64::FromU64(2));
}

TEST(Eui64, RejectsBadInput) {
  ExpectError(ParseEui64("010203fffe0405"), "expected 16 hex digits, got 14", "short");
  ExpectError(ParseEui64("010203fffe04050607"), "got 18", "long");
  ExpectError(ParseEui64(""), "got 0", "empty");
  ExpectError(ParseEui64("010203fffe04050g"), "not a hex digit at position 16", "g");
  ExpectError(ParseEui64("0-10203fffe040506"), "misplaced separator at position 2", "odd");
  ExpectError(ParseEui64("-010203fffe040506"), "misplaced separator at position 1", "lead");
  ExpectError(ParseEui64("010203fffe040506-"), "misplaced separator at position 17", "trail");
  ExpectError(ParseEui64("01--02-03-ff-fe-04-05-06"), "misplaced separator at position 4",
              "double");
  ExpectError(ParseEui64("01.02.03.ff.fe.04.05.06"), "not a hex digit at position 3", "dots");
  ExpectError(ParseEui64("01 02 03 ff fe 04 05 06"), "not a hex digit at position 3", "spaces");
}

// --- MAC-48 -> EUI-64 ------------------------------------------------------------------------

TEST(MacToEui, InsertsFffeInTheMiddle) {
  const char* forms[] = {"01:02:03:04:05:06", "01-02-03-04-05-06", "010203040506",
                         "0102.0304.0506"};
  for (const char* text : forms) {
    auto mac = ParseMac48(text);
    ASSERT_TRUE(mac.ok()) << text << ": " << mac.status().message();
    EXPECT_EQ(EuiFromMac(*mac).ToString(), "010203fffe040506") << text;
  }
  EXPECT_EQ(EuiFromMac(*ParseMac48("AA:BB:CC:DD:EE:FF")).ToString(), "aabbccfffeddeeff");
  EXPECT_EQ(EuiFromMac(*ParseMac48("00:00:00:00:00:00")).ToString(), "000000fffe000000");
}

TEST(MacToEui, RejectsBadMacs) {
  ExpectError(ParseMac48("01:02:03:04:05"), "expected 12 hex digits, got 10", "short");
  ExpectError(ParseMac48("01:02:03:04:05:06:07"), "got 14", "long");
  ExpectError(ParseMac48("01:02:03:04:05:0g"), "not a hex digit at position 17", "g");
  ExpectError(ParseMac48("0:102:03:04:05:06"), "misplaced separator at position 2", "odd");
  ExpectError(ParseMac48("01::02:03:04:05:06"), "misplaced separator at position 4", "double");
  ExpectError(ParseMac48(":01:02:03:04:05:06"), "misplaced separator", "lead");
}

// --- Refusals quote input safely ----------------------------------------------------------

TEST(IdentifierRefusals, NeverEchoRawBytes) {
  const std::string_view hostile("\xFF\xFE\0\xC3", 4);
  for (const auto& status :
       {ParseSigfoxId(hostile).status(), ParseProductCertificate(hostile).status(),
        ParseProvisionId("ABCDEFGHIJKLMNOPQRS\xFF").status(),
        ParseSigfoxId(std::string(100, '\xE9')).status()}) {
    ASSERT_FALSE(status.ok());
    EXPECT_TRUE(FindTextFault(status.message()) == std::nullopt) << status.message();
    EXPECT_LT(status.message().size(), 600u);
  }
  EXPECT_NE(ParseSigfoxId(hostile).status().message().find("\\xFF\\xFE\\x00\\xC3"),
            std::string::npos);
}

// --- TrimSpace -------------------------------------------------------------------------------

TEST(TrimSpace, TrimsAsciiWhitespaceAtBothEndsOnly) {
  EXPECT_EQ(TrimSpace("  a b \t\r\n"), "a b");
  EXPECT_EQ(TrimSpace("\n\t"), "");
  EXPECT_EQ(TrimSpace(""), "");
  EXPECT_EQ(TrimSpace("x"), "x");
}

}  // namespace
}  // namespace roost
