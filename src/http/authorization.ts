/**
 * The credentials an `Authorization` header carries: a bearer token (the /api token, the admin
 * token) or an HTTP Basic user name and password (the SOAP endpoints). Comparing them with the
 * configured ones is `sameSecret`'s job.
 */

/** The token of `Bearer <token>`, or undefined when the header carries none. */
export function bearerToken(header: string | undefined): string | undefined {
  return header?.startsWith('Bearer ') ? header.slice(7) : undefined;
}

/** The user name and password of `Basic <base64>`, or undefined when the header carries none. */
export function basicCredentials(header: string | undefined): [string, string] | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : [decoded.slice(0, colon), decoded.slice(colon + 1)];
}
