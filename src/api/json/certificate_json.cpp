#include "api/json/certificate_json.h"

namespace roost::api {

using nlohmann::json;

json CertificateJson(const ProductCertificate& pc) {
  return json{{"key", pc.key},
              {"manufacturer", pc.manufacturer},
              {"productName", pc.product_name},
              {"revision", pc.revision},
              {"link", pc.link},
              {"notes", pc.notes},
              {"creationTime", pc.creation_time},
              {"lastEditionTime", pc.update_time},
              {"id", pc.key},
              {"name", pc.product_name},
              {"version", pc.revision}};
}

}  // namespace roost::api
