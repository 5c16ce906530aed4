/**
 * What the Q/R SCP answers for beyond the keys of an identifier, set by configuration rather
 * than by the request: the issuer of patient IDs it assumes for patients stored without one,
 * and whether studies that are not complete as held are answered. Like request values, its
 * values reach the SQL only as parameters.
 */

/** The configured scope of a query or retrieve; `{}` answers everything the index holds. */
export interface QrScope {
  /**
   * IssuerOfPatientID of the patients stored without one: they match it and are answered with
   * it. A patient stored with another issuer does not match it. '' or absent: none assumed.
   */
  issuerOfPatientId?: string;
  /**
   * Answer only studies complete as held: none of `arriving` (their instances still coming),
   * and holding at least the instances the PACS announced when the bridge asked it. Narrows
   * STUDY, SERIES and IMAGE level; PATIENT level is answered as held.
   */
  completeOnly?: { arriving: readonly string[] };
}

/** IssuerOfPatientID of a patient row when the scope assumes one for patients without. */
export const SCOPED_ISSUER = "COALESCE(NULLIF(p.issuer, ''), (SELECT issuer FROM qr_scope))";

/**
 * Complete as held, the rule of `heldComplete` (fse/held-studies.ts) on a study row `st`: as
 * many instances as the PACS announced (none announced: what arrived is the study), and none
 * of the study UIDs of the JSON array parameter (the studies still arriving).
 */
const COMPLETE_AS_HELD = `(st.expected_instances IS NULL
    OR st.received_instances >= st.expected_instances)
  AND st.study_uid NOT IN (SELECT value FROM json_each(?))`;

/** The conditions `scope` adds at a level of this depth (PATIENT: 0), and their parameters. */
export function scopeConditions(
  scope: QrScope,
  depth: number,
): { where: string[]; params: string[] } {
  if (!scope.completeOnly || depth < 1) return { where: [], params: [] };
  return { where: [COMPLETE_AS_HELD], params: [JSON.stringify(scope.completeOnly.arriving)] };
}

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
