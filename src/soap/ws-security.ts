/**
 * WS-Security 1.0 on requests: the Security header block addressed to the bridge, holding a
 * UsernameToken (Username Token Profile 1.0: the password as text, or as a digest,
 * Base64(SHA-1(nonce ‖ created ‖ password))) and a Timestamp. Both are checked for freshness
 * against our clock, within a clock skew; the token's credentials against the configured ones;
 * and its nonce against replay: a nonce is remembered for as long as its token would be fresh,
 * and a second token with it is refused. Anything else in the header (a signature, another kind
 * of token) is refused too: a header the bridge says it understands is processed whole.
 */
import { createHash } from 'node:crypto';
import { sameSecret } from '../http/same-secret.js';
import { addressedHere } from './header-blocks.js';
import { WSSE_NS, WSU_NS } from './namespaces.js';
import { SoapFaultError, type XmlNode } from './xml-tree.js';

const TOKEN_PROFILE =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0';
const PASSWORD_TEXT = `${TOKEN_PROFILE}#PasswordText`;
const PASSWORD_DIGEST = `${TOKEN_PROFILE}#PasswordDigest`;
const BASE64_BINARY =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';

/** How the bridge judges the Security header. */
export interface WsSecurityPolicy {
  /** The credentials a UsernameToken must carry; undefined: tokens are read, not verified. */
  credentials: { username: string; password: string } | undefined;
  /** How far a sender's clock may be ahead of or behind ours, in milliseconds. */
  clockSkewMs: number;
  /** The oldest Created accepted (of the Timestamp and of the token), beyond the skew. */
  maxAgeMs: number;
}

/** What the Security header said of its sender. */
export interface SecurityResult {
  /** The UsernameToken's user name, when the header holds one. */
  username: string | undefined;
  /** Whether a UsernameToken's credentials were verified against the configured ones. */
  authenticated: boolean;
}

/** The WS-Security fault codes the bridge answers with (WSS 1.0 §12). */
type WsseFault =
  'InvalidSecurity' | 'UnsupportedSecurityToken' | 'FailedAuthentication' | 'MessageExpired';

/** A request refused by its Security header: a Sender fault with a wsse subcode. */
export class WsSecurityFault extends SoapFaultError {
  override readonly name = 'WsSecurityFault';
  constructor(wsse: WsseFault, reason: string) {
    super('Sender', reason);
    this.subcode = { ns: WSSE_NS, local: wsse };
  }
}

/**
 * The nonces of recent UsernameTokens, each until its token could no longer be fresh. Bounded:
 * when `maxEntries` are remembered and none has expired, a new token is refused rather than a
 * nonce forgotten early.
 */
export class NonceCache {
  #until = new Map<string, number>();
  #maxEntries: number;

  constructor(maxEntries = 100_000) {
    this.#maxEntries = maxEntries;
  }

  /** Remember `nonce` until `until` (ms); false when it is remembered already: a replay. */
  remember(nonce: string, until: number, now: number): boolean {
    const known = this.#until.get(nonce);
    if (known !== undefined && known >= now) return false;
    if (this.#until.size >= this.#maxEntries)
      for (const [key, expiry] of this.#until) if (expiry < now) this.#until.delete(key);
    if (this.#until.size >= this.#maxEntries)
      throw new SoapFaultError(
        'Receiver',
        'troppe richieste recenti: impossibile verificare il nonce, riprovare più tardi',
      );
    this.#until.set(nonce, until);
    return true;
  }

  get size(): number {
    return this.#until.size;
  }
}

const DATE_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** An xs:dateTime with its time zone, in ms; a fault naming `what` otherwise. */
function instant(text: string, what: string): number {
  const match = DATE_TIME.exec(text.trim());
  const ms = match
    ? Date.parse(`${match[1]}${(match[2] ?? '').slice(0, 4)}${match[3]}`)
    : Number.NaN;
  if (Number.isNaN(ms))
    throw new WsSecurityFault(
      'InvalidSecurity',
      `${what} deve essere una data e ora con fuso orario (xs:dateTime)`,
    );
  return ms;
}

/** The children of `node` named `local` in `ns`: at most one; more is a fault. */
function single(node: XmlNode, ns: string, local: string, prefix: string): XmlNode | undefined {
  const found = node.children.filter((child) => child.ns === ns && child.name === local);
  if (found.length > 1)
    throw new WsSecurityFault('InvalidSecurity', `${prefix}:${local} compare più di una volta`);
  return found[0];
}

/** Refuse any child of `node` other than `allowed` (namespace, local name). */
function onlyChildren(node: XmlNode, allowed: ReadonlyArray<[string, string]>): void {
  const other = node.children.find(
    (child) => !allowed.some(([ns, local]) => child.ns === ns && child.name === local),
  );
  if (other)
    throw new WsSecurityFault(
      'UnsupportedSecurityToken',
      `elemento non supportato in wsse:${node.name}: {${other.ns}}${other.name}`,
    );
}

/** Whether an instant is fresh: not ahead of `now` by more than the skew, not too old. */
function checkFresh(ms: number, now: number, policy: WsSecurityPolicy, what: string): void {
  if (ms > now + policy.clockSkewMs)
    throw new WsSecurityFault('MessageExpired', `${what} è nel futuro`);
  if (ms < now - policy.maxAgeMs - policy.clockSkewMs)
    throw new WsSecurityFault('MessageExpired', `${what} è troppo vecchio: messaggio scaduto`);
}

function checkTimestamp(timestamp: XmlNode, now: number, policy: WsSecurityPolicy): void {
  onlyChildren(timestamp, [
    [WSU_NS, 'Created'],
    [WSU_NS, 'Expires'],
  ]);
  const created = single(timestamp, WSU_NS, 'Created', 'wsu');
  if (!created) throw new WsSecurityFault('InvalidSecurity', 'wsu:Timestamp senza wsu:Created');
  const createdMs = instant(created.text, 'wsu:Created del Timestamp');
  checkFresh(createdMs, now, policy, 'wsu:Created del Timestamp');
  const expires = single(timestamp, WSU_NS, 'Expires', 'wsu');
  if (!expires) return;
  const expiresMs = instant(expires.text, 'wsu:Expires del Timestamp');
  if (expiresMs < createdMs)
    throw new WsSecurityFault('InvalidSecurity', 'wsu:Expires precede wsu:Created');
  if (expiresMs < now - policy.clockSkewMs)
    throw new WsSecurityFault('MessageExpired', 'il Timestamp è scaduto (wsu:Expires)');
}

/** The password a token proves, as the profile computes it from what the sender gave. */
function digest(nonce: Buffer, created: string, password: string): string {
  return createHash('sha1')
    .update(Buffer.concat([nonce, Buffer.from(created, 'utf8'), Buffer.from(password, 'utf8')]))
    .digest('base64');
}

function checkToken(
  token: XmlNode,
  now: number,
  policy: WsSecurityPolicy,
  nonces: NonceCache,
): { username: string; authenticated: boolean } {
  onlyChildren(token, [
    [WSSE_NS, 'Username'],
    [WSSE_NS, 'Password'],
    [WSSE_NS, 'Nonce'],
    [WSU_NS, 'Created'],
  ]);
  const username = single(token, WSSE_NS, 'Username', 'wsse')?.text.trim();
  if (!username) throw new WsSecurityFault('InvalidSecurity', 'wsse:UsernameToken senza Username');
  try {
    return { username, authenticated: verifyToken(token, username, now, policy, nonces) };
  } catch (error) {
    if (error instanceof SoapFaultError) error.user = username;
    throw error;
  }
}

function verifyToken(
  token: XmlNode,
  username: string,
  now: number,
  policy: WsSecurityPolicy,
  nonces: NonceCache,
): boolean {
  const password = single(token, WSSE_NS, 'Password', 'wsse');
  const type = password?.attributes.find((a) => a.ns === '' && a.name === 'Type')?.value.trim();
  const digested = type === PASSWORD_DIGEST;
  if (type !== undefined && type !== PASSWORD_TEXT && !digested)
    throw new WsSecurityFault('UnsupportedSecurityToken', 'tipo di password non supportato');
  const nonceNode = single(token, WSSE_NS, 'Nonce', 'wsse');
  const encoding = nonceNode?.attributes.find((a) => a.ns === '' && a.name === 'EncodingType');
  if (encoding && encoding.value.trim() !== BASE64_BINARY)
    throw new WsSecurityFault('UnsupportedSecurityToken', 'codifica di wsse:Nonce non supportata');
  const nonceText = nonceNode?.text.trim();
  if (nonceText !== undefined && !/^[A-Za-z0-9+/]+={0,2}$/.test(nonceText))
    throw new WsSecurityFault('InvalidSecurity', 'wsse:Nonce non è in base64');
  const createdNode = single(token, WSU_NS, 'Created', 'wsu');
  const created = createdNode?.text.trim();
  let createdMs: number | undefined;
  if (created !== undefined) {
    createdMs = instant(created, 'wsu:Created dello UsernameToken');
    checkFresh(createdMs, now, policy, 'wsu:Created dello UsernameToken');
  }
  if (digested && (nonceText === undefined || created === undefined))
    throw new WsSecurityFault(
      'InvalidSecurity',
      'una password in digest richiede wsse:Nonce e wsu:Created',
    );
  if (!policy.credentials) return false;
  const given = password?.text.trim() ?? '';
  const expected = digested
    ? digest(Buffer.from(nonceText!, 'base64'), created!, policy.credentials.password)
    : policy.credentials.password;
  // Both compared, whatever the first gives, so timing tells nothing about which was wrong.
  const user = sameSecret(username, policy.credentials.username);
  const secret = sameSecret(given, expected);
  if (!password || !user || !secret)
    throw new WsSecurityFault('FailedAuthentication', 'credenziali dello UsernameToken non valide');
  // Remembered once authenticated, so that no one without the password fills the cache.
  if (
    nonceText !== undefined &&
    !nonces.remember(
      Buffer.from(nonceText, 'base64').toString('base64'),
      (createdMs ?? now) + policy.maxAgeMs + 2 * policy.clockSkewMs,
      now,
    )
  )
    throw new WsSecurityFault('FailedAuthentication', 'wsse:Nonce già usato: richiesta ripetuta');
  return true;
}

/**
 * Process the Security header block of `header` addressed to the bridge, if any: its Timestamp
 * and its UsernameToken. A `WsSecurityFault` for what is malformed, stale, replayed or not
 * authenticated (carrying the token's user name, for the audit).
 */
export function processSecurity(
  version: '1.1' | '1.2',
  header: XmlNode | undefined,
  policy: WsSecurityPolicy,
  nonces: NonceCache,
  now: number,
): SecurityResult {
  const blocks = (header?.children ?? []).filter(
    (block) => block.ns === WSSE_NS && block.name === 'Security' && addressedHere(version, block),
  );
  if (blocks.length > 1)
    throw new WsSecurityFault('InvalidSecurity', 'più di un wsse:Security per questo servizio');
  const security = blocks[0];
  if (!security) return { username: undefined, authenticated: false };
  onlyChildren(security, [
    [WSU_NS, 'Timestamp'],
    [WSSE_NS, 'UsernameToken'],
  ]);
  const token = single(security, WSSE_NS, 'UsernameToken', 'wsse');
  const username = token
    ? single(token, WSSE_NS, 'Username', 'wsse')?.text.trim() || undefined
    : undefined;
  try {
    const timestamp = single(security, WSU_NS, 'Timestamp', 'wsu');
    if (timestamp) checkTimestamp(timestamp, now, policy);
  } catch (error) {
    if (error instanceof SoapFaultError) error.user = username;
    throw error;
  }
  if (!token) return { username: undefined, authenticated: false };
  return checkToken(token, now, policy, nonces);
}
