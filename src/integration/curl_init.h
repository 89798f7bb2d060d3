// libcurl's process-wide initialisation, shared by every user of libcurl in
// Roost: curl_global_init is not thread-safe and must run once before any
// handle is created.
#pragma once

namespace roost::integration {

// Initialises libcurl the first time it is called; later calls return at once.
void InitCurlOnce();

}  // namespace roost::integration
