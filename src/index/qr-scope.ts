/**
 * What the Q/R SCP answers for beyond the keys of an identifier, set by configuration rather
 * than by the request: the issuer of patient IDs it assumes for patients stored without one.
 * Like request values, its values reach the SQL only as parameters.
 */

/** The configured scope of a query or retrieve; `{}` answers everything the index holds. */
export interface QrScope {
  /**
   * IssuerOfPatientID of the patients stored without one: they match it and are answered with
   * it. A patient stored with another issuer does not match it. '' or absent: none assumed.
   */
  issuerOfPatientId?: string;
}

/** IssuerOfPatientID of a patient row when the scope assumes one for patients without. */
export const SCOPED_ISSUER = "COALESCE(NULLIF(p.issuer, ''), (SELECT issuer FROM qr_scope))";

/** `sql` preceded by what `SCOPED_ISSUER` reads, when the scope assumes an issuer. */
export function scopedSql(
  scope: QrScope,
  sql: string,
  params: (string | number)[],
): { sql: string; params: (string | number)[] } {
  if (!scope.issuerOfPatientId) return { sql, params };
  return {
    sql: `WITH qr_scope(issuer) AS (SELECT ?) ${sql}`,
    params: [scope.issuerOfPatientId, ...params],
  };
}
