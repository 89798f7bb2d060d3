#include "simulate/gateway.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <fstream>

namespace roost::simulate {
namespace {

// The receive buffer the kernel grants for a request of `bytes`: it doubles the
// request (for its bookkeeping) after capping it at net.core.rmem_max.
int GrantedFor(int bytes) {
  std::ifstream in("/proc/sys/net/core/rmem_max");
  long rmem_max = 0;
  in >> rmem_max;
  if (!in || rmem_max <= 0) return 0;
  return 2 * static_cast<int>(std::min<long>(bytes, rmem_max));
}

// A simulation of hundreds of exchanges at once gets their acknowledgements and
// downlinks in bursts while its one thread computes key pairs; the default
// receive buffer dropped them and devices timed out through no fault of the
// server.
TEST(SimulatedGateway, ReceiveBufferHoldsBurstsOfDownlinks) {
  SimulatedGateway gw(Eui64::FromU64(0x00800000a0000001));
  ASSERT_TRUE(gw.Connect(config::HostPort{"127.0.0.1", 9}).ok());
  int size = 0;
  socklen_t len = sizeof size;
  ASSERT_EQ(::getsockopt(gw.fd(), SOL_SOCKET, SO_RCVBUF, &size, &len), 0);
  const int expected = GrantedFor(SimulatedGateway::kReceiveBufferBytes);
  if (expected == 0) GTEST_SKIP() << "net.core.rmem_max is not readable";
  EXPECT_EQ(size, expected);
}

}  // namespace
}  // namespace roost::simulate
