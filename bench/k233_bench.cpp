// K-233 ECDH and the provisioning server's Hello+Auth handling, compared in
// the same run against `openssl speed ecdhk233`.
//
//   bench/k233_bench                      full run (openssl speed -seconds 3)
//   ROOST_BENCH_SMOKE=1 bench/k233_bench  quick check (short runs, -seconds 1)
//
// Target (spec): provisioning Hello+Auth handled >= 40 % of openssl's
// ecdhk233 op/s. A device costs two scalar multiplications (key generation
// and the shared point), so the ideal is 50 %; the summary prints both
// ratios. Rates are per CPU second on both sides (openssl speed's default).
#include <benchmark/benchmark.h>

#include <openssl/evp.h>
#include "bench_support.h"
#include "k233_baseline.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "crypto/k233.h"
#include "crypto/random.h"
#include "provisioning/frames.h"
#include "provisioning/server.h"

namespace {

using namespace roost;
using namespace roost::provisioning;

constexpr const char* kProvisionId = "TESTPIDOOOOOOOOOOOOO";

void BM_K233SharedPoint(benchmark::State& state) {
  const crypto::K233KeyPair own = crypto::K233GenerateKeyPair();
  const crypto::K233KeyPair peer = crypto::K233GenerateKeyPair();
  for (auto _ : state) {
    auto shared = crypto::K233SharedPoint(own.private_le, peer.public_xy);
    benchmark::DoNotOptimize(shared);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_K233SharedPoint);

void BM_K233GenerateKeyPair(benchmark::State& state) {
  for (auto _ : state) {
    crypto::K233KeyPair pair = crypto::K233GenerateKeyPair();
    benchmark::DoNotOptimize(pair);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_K233GenerateKeyPair);

void BM_K233ValidatePublicKey(benchmark::State& state) {
  const crypto::K233KeyPair peer = crypto::K233GenerateKeyPair();
  for (auto _ : state) benchmark::DoNotOptimize(crypto::K233IsValidPublicKey(peer.public_xy));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_K233ValidatePublicKey);

// The same derivation through the EVP interface that `openssl speed` times
// (context made once, EVP_PKEY_derive in the loop), for comparison with the
// direct EC_POINT_mul path above.
void BM_OpenSslEvpDerive(benchmark::State& state) {
  EVP_PKEY* own = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "sect233k1");
  EVP_PKEY* peer = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "sect233k1");
  EVP_PKEY_CTX* ctx = own != nullptr ? EVP_PKEY_CTX_new(own, nullptr) : nullptr;
  size_t len = 0;
  if (ctx == nullptr || peer == nullptr || EVP_PKEY_derive_init(ctx) != 1 ||
      EVP_PKEY_derive_set_peer(ctx, peer) != 1 || EVP_PKEY_derive(ctx, nullptr, &len) != 1) {
    state.SkipWithError("EVP setup for sect233k1 failed");
  } else {
    std::vector<uint8_t> out(len);
    for (auto _ : state) {
      size_t n = out.size();
      if (EVP_PKEY_derive(ctx, out.data(), &n) != 1) state.SkipWithError("EVP_PKEY_derive failed");
      benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations());
  }
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(peer);
  EVP_PKEY_free(own);
}
BENCHMARK(BM_OpenSslEvpDerive);

// Everything the server computes for one device: decode the Hello, a fresh
// key pair and nonce, the shared point, the three keys, the Hello response
// frame; then decode the Auth, decrypt it, check the verify code, and build
// the Auth accepted frame. Not included: the Provision ID lookup (storage)
// and the device's own work (done with the timer paused).
void BM_HelloAuthHandled(benchmark::State& state) {
  const crypto::K233KeyPair device = crypto::K233GenerateKeyPair();
  Hello hello;
  hello.rdev_eui = {0xd7, 0xb3, 0x2a, 0xd1, 0xce, 0xdd, 0xab, 0x71};
  hello.dev_public_key = device.public_xy;
  hello.network_flag = 1;
  const Bytes hello_phy = EncodeFrame(hello);
  const auto pid_hash = ProvisionIdHash(kProvisionId);
  const Eui64 dev_eui = Eui64::FromU64(0x000000fffe000001);
  const Eui64 join_eui{};
  const Nonce dev_nonce{0xa4, 0xb7, 0xfc, 0x98};

  for (auto _ : state) {
    // Hello.
    auto hello_msg = DecodeFrame(hello_phy);
    const crypto::K233KeyPair server = crypto::K233GenerateKeyPair();
    Nonce server_nonce{};
    crypto::RandomBytes(server_nonce);
    auto outcome = HandleHello(std::get<Hello>(*hello_msg), server, server_nonce);
    if (!outcome.ok()) {
      state.SkipWithError(outcome.status().message().c_str());
      break;
    }
    const Bytes response_phy = EncodeFrame(outcome->response);
    benchmark::DoNotOptimize(response_phy.data());

    // The device's Auth (device work: not timed; the device derives the same ProvKey).
    state.PauseTiming();
    std::array<uint8_t, kAuthPlainSize> plain{};
    const VerifyCode device_code = ComputeVerifyCode(kProvisionId, server_nonce);
    std::copy(pid_hash.begin(), pid_hash.end(), plain.begin());
    std::copy(device_code.begin(), device_code.end(), plain.begin() + 32);
    std::copy(dev_nonce.begin(), dev_nonce.end(), plain.begin() + 48);
    Auth auth_out;
    auth_out.rdev_eui = hello.rdev_eui;
    CryptAuthPayload(outcome->session.keys.prov_key, Direction::kUplink, hello.rdev_eui, plain,
                     auth_out.encrypted);
    const Bytes auth_phy = EncodeFrame(auth_out);
    state.ResumeTiming();

    // Auth.
    auto auth_msg = DecodeFrame(auth_phy);
    auto content = OpenAuth(std::get<Auth>(*auth_msg), outcome->session);
    if (!content.ok() || content->provision_id_hash != pid_hash ||
        !AuthVerifyCodeMatches(*content, kProvisionId, outcome->session)) {
      state.SkipWithError("Auth did not verify");
      break;
    }
    const Bytes accepted_phy = EncodeFrame(
        BuildAuthAccepted(outcome->session, dev_eui, join_eui, kProvisionId, content->dev_nonce));
    benchmark::DoNotOptimize(accepted_phy.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HelloAuthHandled);

}  // namespace

int main(int argc, char** argv) {
  const bool smoke = roost::bench::SmokeMode();
  if (!roost::bench::InitBenchmarks(argc, argv, "0.05")) return 1;

  roost::bench::CapturingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  const double shared = roost::bench::Get(reporter.ops_per_second, "BM_K233SharedPoint");
  const double keygen = roost::bench::Get(reporter.ops_per_second, "BM_K233GenerateKeyPair");
  const double evp = roost::bench::Get(reporter.ops_per_second, "BM_OpenSslEvpDerive");
  const double devices = roost::bench::Get(reporter.ops_per_second, "BM_HelloAuthHandled");

  const int seconds = smoke ? 1 : 3;
  const std::optional<double> openssl = roost::bench::OpenSslEcdhK233Speed(seconds);
  std::printf("\nK-233 results (ops/s per CPU second, one thread)\n");
  std::printf("  K233SharedPoint            %10.1f\n", shared);
  std::printf("  K233GenerateKeyPair        %10.1f\n", keygen);
  std::printf("  EVP_PKEY_derive in-process %10.1f\n", evp);
  std::printf("  Hello+Auth devices/s       %10.1f\n", devices);
  if (!openssl) {
    std::printf("  openssl speed ecdhk233     unavailable (no openssl binary or no sect233k1)\n");
    std::printf("k233 summary: shared_point=%.1f op/s hello_auth=%.1f devices/s openssl=n/a\n",
                shared, devices);
    return 0;
  }
  std::printf("  openssl speed ecdhk233     %10.1f   (-seconds %d)\n", *openssl, seconds);
  const double shared_ratio = shared / *openssl;
  const double device_ratio_ideal = devices / (*openssl / 2);
  const double device_ratio = devices / *openssl;
  std::printf("  shared point / openssl              %6.3f\n", shared_ratio);
  std::printf(
      "  Hello+Auth / (openssl / 2)          %6.3f   (1.0 = two scalar mults, nothing else)\n",
      device_ratio_ideal);
  std::printf("  Hello+Auth / openssl                %6.3f   (target >= 0.40)\n", device_ratio);
  if (devices == 0 || shared == 0) {
    std::printf("k233 summary: incomplete (a benchmark was filtered out or failed)\n");
    return 0;
  }
  std::printf(
      "k233 summary: shared_point=%.0f op/s, hello_auth=%.0f devices/s, openssl_ecdhk233=%.0f "
      "op/s, shared/openssl=%.3f, hello_auth/(openssl/2)=%.3f, hello_auth/openssl=%.3f "
      "(target >= 0.40: %s)\n",
      shared, devices, *openssl, shared_ratio, device_ratio_ideal, device_ratio,
      device_ratio >= 0.40 ? "met" : "NOT met");
  return 0;
}
