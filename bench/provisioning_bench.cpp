// The provisioning service (provisioning/service.h) as the gateway listener
// calls it, compared in the same run against `openssl speed -seconds 1 ecdhk233`.
//
//   bench/provisioning_bench                      full run
//   ROOST_BENCH_SMOKE=1 bench/provisioning_bench  quick check (figures mean nothing)
//
// Hellos/s: HandleUplink on a Hello — decode and MIC, key check, rate limits,
// a fresh key pair and nonce, the shared point, the three keys, the session,
// the Hello response. Exchanges/s: a Hello and its Auth — the above, then the
// Auth decrypted, looked up in an in-memory directory, checked and recorded,
// and the Auth accepted. The device's own work is done with the timer paused.
// A Hello costs two scalar multiplications, so 0.5 of openssl's ECDH op/s is
// the bound. Rates are per CPU second on both sides (openssl speed's default).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bench_support.h"
#include "crypto/k233.h"
#include "crypto/random.h"
#include "k233_baseline.h"
#include "provisioning/directory.h"
#include "provisioning/frames.h"
#include "provisioning/service.h"

namespace {

using namespace roost;
using namespace roost::provisioning;

constexpr const char* kProvisionId = "TESTPIDOOOOOOOOOOOOO";

// One Provision ID, every exchange accepted: the store's cost is measured
// elsewhere (bench/storage_bench.cpp); this is the protocol's.
class OneIdDirectory : public ProvisionDirectory {
 public:
  Result<std::optional<ProvisionIdEntry>> FindByHash(const crypto::Sha256Digest& hash) override {
    if (hash != hash_) return std::optional<ProvisionIdEntry>();
    return std::optional<ProvisionIdEntry>(ProvisionIdEntry{kProvisionId});
  }
  Result<Assignment> RecordProvisioned(const ProvisioningRecord&) override {
    return Assignment{Eui64::FromU64(0x000000fffe000001), Eui64{}};
  }

 private:
  crypto::Sha256Digest hash_ = ProvisionIdHash(kProvisionId);
};

ProvisioningService::Options Unlimited() {
  ProvisioningService::Options o;
  o.hellos_per_second_per_gateway = 1e9;
  o.hello_burst_per_gateway = 1e9;
  o.hellos_per_second = 1e9;
  o.hello_burst = 1e9;
  return o;
}

Reception Gateway() {
  Reception r;
  r.gateway_eui = Eui64::FromU64(0xa0a0a0fffe000001);
  return r;
}

// Hellos of 1 024 devices in turn, so the session table is in use as in a
// busy network rather than one entry replaced.
std::vector<Bytes> HelloFrames(const crypto::K233KeyPair& device) {
  std::vector<Bytes> frames;
  for (int i = 0; i < 1024; ++i) {
    Hello hello;
    crypto::RandomBytes(hello.rdev_eui);
    hello.dev_public_key = device.public_xy;
    hello.network_flag = 1;
    frames.push_back(EncodeFrame(hello));
  }
  return frames;
}

void BM_ServiceHello(benchmark::State& state) {
  OneIdDirectory directory;
  ProvisioningService service(Unlimited(), directory, {});
  const crypto::K233KeyPair device = crypto::K233GenerateKeyPair();
  const std::vector<Bytes> hellos = HelloFrames(device);
  const Reception via = Gateway();
  size_t n = 0;
  for (auto _ : state) {
    auto response = service.HandleUplink(hellos[n++ % hellos.size()], via);
    if (!response) {
      state.SkipWithError("a Hello was not answered");
      break;
    }
    benchmark::DoNotOptimize(response->data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ServiceHello);

// The Auth a device sends back for `response_phy` (device work: not timed).
Bytes DeviceAuth(const crypto::K233KeyPair& device, const Bytes& response_phy,
                 const RDevEui& rdev_eui) {
  auto decoded = DecodeFrame(response_phy);
  if (!decoded.ok()) return {};
  const auto& response = std::get<HelloResponse>(*decoded);
  auto shared = crypto::K233SharedPoint(device.private_le, response.server_public_key);
  if (!shared.ok()) return {};
  const SessionKeys keys = DeriveSessionKeys(*shared, rdev_eui);
  std::array<uint8_t, kAuthPlainSize> plain{};
  const auto hash = ProvisionIdHash(kProvisionId);
  const auto code = ComputeVerifyCode(kProvisionId, response.server_nonce);
  std::copy(hash.begin(), hash.end(), plain.begin());
  std::copy(code.begin(), code.end(), plain.begin() + 32);
  plain[48] = 0xa4;
  Auth auth;
  auth.rdev_eui = rdev_eui;
  CryptAuthPayload(keys.prov_key, Direction::kUplink, rdev_eui, plain, auth.encrypted);
  return EncodeFrame(auth);
}

void BM_ServiceExchange(benchmark::State& state) {
  OneIdDirectory directory;
  ProvisioningService service(Unlimited(), directory, {});
  const crypto::K233KeyPair device = crypto::K233GenerateKeyPair();
  const std::vector<Bytes> hellos = HelloFrames(device);
  const Reception via = Gateway();
  size_t n = 0;
  for (auto _ : state) {
    const Bytes& hello = hellos[n++ % hellos.size()];
    auto response = service.HandleUplink(hello, via);
    if (!response) {
      state.SkipWithError("a Hello was not answered");
      break;
    }
    state.PauseTiming();
    RDevEui rdev_eui{};
    std::copy_n(hello.begin() + 2, rdev_eui.size(), rdev_eui.begin());
    const Bytes auth = DeviceAuth(device, *response, rdev_eui);
    state.ResumeTiming();
    auto accepted = service.HandleUplink(auth, via);
    if (!accepted || accepted->size() != 1 + kAuthAcceptedSize + kMicSize) {
      state.SkipWithError("an Auth was not accepted");
      break;
    }
    benchmark::DoNotOptimize(accepted->data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ServiceExchange);

}  // namespace

int main(int argc, char** argv) {
  if (!roost::bench::InitBenchmarks(argc, argv, "0.05")) return 1;
  roost::bench::CapturingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  const double hellos = roost::bench::Get(reporter.ops_per_second, "BM_ServiceHello");
  const double exchanges = roost::bench::Get(reporter.ops_per_second, "BM_ServiceExchange");
  const std::optional<double> openssl = roost::bench::OpenSslEcdhK233Speed(1);
  std::printf("\nProvisioning service (per CPU second, one thread)\n");
  std::printf("  Hellos/s                   %10.1f\n", hellos);
  std::printf("  exchanges/s (Hello+Auth)   %10.1f\n", exchanges);
  if (!openssl) {
    std::printf("  openssl speed ecdhk233     unavailable (no openssl binary or no sect233k1)\n");
    std::printf("provisioning summary: hellos=%.1f/s exchanges=%.1f/s openssl=n/a\n", hellos,
                exchanges);
    return 0;
  }
  std::printf("  openssl speed ecdhk233     %10.1f   (-seconds 1)\n", *openssl);
  std::printf(
      "  Hellos / openssl           %10.3f   (two scalar mults: 0.5 if nothing else cost)\n",
      hellos / *openssl);
  std::printf("  exchanges / openssl        %10.3f\n", exchanges / *openssl);
  if (hellos == 0 || exchanges == 0) {
    std::printf("provisioning summary: incomplete (a benchmark was filtered out or failed)\n");
    return 0;
  }
  std::printf(
      "provisioning summary: hellos=%.0f/s, exchanges=%.0f/s, openssl_ecdhk233=%.0f op/s, "
      "hellos/openssl=%.3f, exchanges/openssl=%.3f\n",
      hellos, exchanges, *openssl, hellos / *openssl, exchanges / *openssl);
  return 0;
}
