// Factory data known before registration: the sealed device KEY and initial PAC
// of a device ID, and the product-certificate reference data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/identifiers.h"
#include "model/time.h"

namespace roost {

// What the factory import leaves for a device ID before anyone registers it.
struct Credential {
  SigfoxId device_id;
  std::vector<uint8_t> sealed_key;  // the device KEY sealed with the master key; opaque
  std::string initial_pac;          // 16 uppercase hex
  EpochMillis creation_time = 0;
  bool operator==(const Credential&) const = default;
};

// A known end-product certificate (factory.md): global reference data, shared by
// every group. `key` is canonical ("P_0004_D356_03").
struct ProductCertificate {
  std::string key;
  std::string manufacturer;
  std::string product_name;
  std::string revision;  // free text; defaults to the key's revision digits
  std::string link;      // where the certificate can be read; may be empty
  std::string notes;
  EpochMillis creation_time = 0;  // first import
  EpochMillis update_time = 0;    // last import
  bool operator==(const ProductCertificate&) const = default;
};

}  // namespace roost
