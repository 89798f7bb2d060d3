// Product certificates: global reference data searched by a substring of their
// key (in its spellings), manufacturer or product name.
#include "storage/internal.h"
#include "storage/sql/rows.h"
#include "storage/sql/sql_store.h"

namespace roost::storage::sql {

using namespace internal;

Status SqlStore::UpsertProductCertificates(std::span<const ProductCertificate> certs) {
  ROOST_SQL_LEASE(c);
  driver::Transaction tx(c);
  ROOST_RETURN_IF_ERROR(tx.Begin("store product certificates"));
  {
    ROOST_SQL_QUERY(q, c,
                    "INSERT INTO product_certificates (cert_key, manufacturer, product_name, "
                    "revision, link, notes, search_text, creation_time, update_time) VALUES "
                    "($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (cert_key) DO UPDATE SET "
                    "manufacturer = excluded.manufacturer, product_name = excluded.product_name, "
                    "revision = excluded.revision, link = excluded.link, notes = excluded.notes, "
                    "search_text = excluded.search_text, update_time = excluded.update_time",
                    "store product certificates");
    for (const ProductCertificate& pc : certs) {
      const std::string search = CertificateSearchText(pc);
      q.BindRef(1, pc.key).BindRef(2, pc.manufacturer).BindRef(3, pc.product_name);
      q.BindRef(4, pc.revision).BindRef(5, pc.link).BindRef(6, pc.notes).BindRef(7, search);
      q.Bind(8, pc.creation_time).Bind(9, pc.update_time);
      ROOST_RETURN_IF_ERROR(q.Run());
      q.Reset();
    }
  }
  return tx.Commit("store product certificates");
}

Result<ProductCertificate> SqlStore::GetProductCertificate(std::string_view key) {
  ROOST_SQL_LEASE(c);
  ROOST_SQL_QUERY(q, c, std::string(kCertificateSelect) + " WHERE cert_key = $1",
                  "get product certificate");
  q.Bind(1, key);
  return ReadOne(q, CertificateFromRow, "product certificate " + std::string(key) + " not found");
}

Result<CertificatePage> SqlStore::SearchProductCertificates(const CertificateQuery& query) {
  ROOST_RETURN_IF_ERROR(ValidateCertificateQuery(query));
  ROOST_SQL_LEASE(c);
  const bool text = !query.text.empty();
  std::string sql = std::string(kCertificateSelect) + " WHERE cert_key > $1";
  if (text) sql += " AND " + std::string(c.dialect().find_text) + "(search_text, $2) > 0";
  int n = text ? 3 : 2;
  sql += " ORDER BY cert_key LIMIT $" + std::to_string(n);
  if (query.offset > 0) sql += " OFFSET $" + std::to_string(n + 1);
  ROOST_SQL_QUERY(q, c, sql, "search product certificates");
  q.Bind(1, query.after);
  if (text) q.Bind(2, CertificateNeedle(query.text));
  q.Bind(n, int64_t{query.limit} + 1);
  if (query.offset > 0) q.Bind(n + 1, int64_t{query.offset});
  CertificatePage page;
  for (;;) {
    auto row = q.Next();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (page.certificates.size() == static_cast<size_t>(query.limit)) {
      page.next = page.certificates.back().key;
      break;
    }
    page.certificates.push_back(CertificateFromRow(q));
  }
  return page;
}

}  // namespace roost::storage::sql
