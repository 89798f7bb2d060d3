// The product-certificate registry: which end-product certificates exist, who
// makes the product, what it is called (registry.md "Product certificates").
//
// Certificates are global reference data: one table for the whole server, not
// per group (every principal allowed to read them sees all of them).
//
// Uploads (ParseCertificateCsv, ParseCertificateJson) are pure: they take the
// text or the JSON value and return either the certificates or every problem
// found (up to kMaxImportProblems listed), each naming its CSV line (1-based) or
// JSON index (0-based). An upload with any problem is refused as a whole.
// Keys are accepted in every spelling ParseProductCertificate knows
// ("P 0004 D356 03", "p-0004-d356-03") and stored canonical ("P_0004_D356_03").
// A key repeated within one upload is a problem (which row would win is not
// obvious); importing a key that is already stored replaces its fields (upsert).
//
// Fields: key (required), manufacturer and productName (required, 1..200
// characters), revision (optional free text up to 50 characters; default: the
// key's two revision digits), link (optional http:// or https:// URL up to 2000
// characters), notes (optional, up to 2000 characters, line breaks allowed).
// Other fields refuse control characters; surrounding spaces are trimmed.
//
// CSV: the first non-blank line is a header naming the columns, in any order and
// any case: key, manufacturer, productName, revision (the four of
// `key,manufacturer,productName,revision`), optionally link and notes. Fields are
// separated by ',' (or ';' when the header has ';' and no ','), quoted with '"'
// as in RFC 4180 ('""' is a quote; quoted fields may hold separators and line
// breaks). Blank lines are skipped; a UTF-8 byte order mark is ignored. Every
// cell must be UTF-8 without NUL: a cell that is not is a problem "column
// <header name>: not valid UTF-8" (or "contains a NUL byte") at its line.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "model/credential.h"
#include "storage/store.h"

namespace roost::registry {

inline constexpr size_t kMaxImportProblems = 100;

// One malformed row or item of an upload.
struct ImportProblem {
  int64_t position = 0;  // CSV: 1-based line; JSON: 0-based index of the item
  std::string field;     // the column or member concerned; "" for the row as a whole
  std::string message;   // without the position, e.g. "manufacturer must not be empty"
  bool operator==(const ImportProblem&) const = default;
};

struct CertificateUpload {
  std::vector<ProductCertificate> certificates;  // in upload order; times not set
  std::vector<ImportProblem> problems;           // at most kMaxImportProblems
  int64_t problem_count = 0;                     // all problems, also those not listed
  bool ok() const { return problem_count == 0; }
};

CertificateUpload ParseCertificateCsv(std::string_view text);
// `items` must be an array of objects with the members named above (productName
// in JSON); unknown members are problems.
CertificateUpload ParseCertificateJson(const nlohmann::json& items);

// The check behind registry.require_known_certificates: Ok when the canonical
// key is in the registry; InvalidInput "productCertificate: product certificate
// P_… is not in the registry" when it is not; the store's error otherwise.
Status CheckKnownCertificate(storage::Store& store, std::string_view canonical_key);

class CertificateRegistry {
 public:
  using Clock = std::function<EpochMillis()>;
  CertificateRegistry(storage::Store& store, Clock clock);

  // Upserts the certificates of a problem-free upload in one transaction.
  // Returns how many were imported. InvalidInput for an empty list.
  Result<int64_t> Import(std::vector<ProductCertificate> certificates);

  // `key` in any accepted spelling. InvalidInput "key: ..." when malformed;
  // NotFound "product certificate P_… not found".
  Result<ProductCertificate> Get(std::string_view key);

  // Certificates whose key (in any spelling), manufacturer or product name
  // contains `text` (ASCII case-insensitive), ordered by key, `limit` per page
  // after the key `after` and `offset` more. InvalidInput "search: ..." for
  // control characters or more than 200 characters; "after: ..." for a
  // malformed cursor.
  Result<storage::CertificatePage> Search(std::string_view text, std::string_view after, int limit,
                                          int offset = 0);

 private:
  storage::Store& store_;
  Clock clock_;
};

}  // namespace roost::registry
