// Product certificates as the registry API shows them (/api/product-certificates…).
#pragma once

#include <nlohmann/json.hpp>

#include "model/credential.h"

namespace roost::api {

nlohmann::json CertificateJson(const ProductCertificate& certificate);

}  // namespace roost::api
