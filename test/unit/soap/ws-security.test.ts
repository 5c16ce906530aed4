import soap from 'soap';
import { describe, expect, it } from 'vitest';
import { securityHeader, WSSE_NS, WSU_NS } from '../../helpers/get-documento.js';
import { CALLER } from '../../helpers/on-demand.js';
import { SOAP11_NS, SOAP12_NS } from '../../../src/soap/namespaces.js';
import {
  NonceCache,
  processSecurity,
  type WsSecurityPolicy,
} from '../../../src/soap/ws-security.js';
import { DEFAULT_LIMITS, parseTree, SoapFaultError } from '../../../src/soap/xml-tree.js';

/*
 * The Security header as clients write it (node-soap's WSSecurity, and WSS4J's layout as the
 * Region's CXF client sends it): Timestamp and UsernameToken checked for freshness, credentials
 * and replay; anything the bridge cannot process refused.
 */

const MINUTE = 60_000;
const POLICY: WsSecurityPolicy = {
  credentials: { ...CALLER },
  clockSkewMs: MINUTE,
  maxAgeMs: 5 * MINUTE,
};

/** The Header element of a SOAP 1.2 envelope holding `blocks`. */
function header(blocks: string, ns = SOAP12_NS) {
  const envelope = parseTree(
    `<soap:Envelope xmlns:soap="${ns}"><soap:Header>${blocks}</soap:Header><soap:Body/></soap:Envelope>`,
    DEFAULT_LIMITS,
  );
  return envelope.children[0]!;
}

function refusal(run: () => unknown): SoapFaultError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SoapFaultError);
    return error as SoapFaultError;
  }
  throw new Error('the header was accepted');
}

const wsse = (error: SoapFaultError): string | undefined =>
  error.subcode?.ns === WSSE_NS ? error.subcode.local : undefined;

describe('UsernameToken and Timestamp', () => {
  it("takes node-soap's digest token and Timestamp, and refuses the same nonce again", () => {
    const xml = new soap.WSSecurity(CALLER.username, CALLER.password, {
      passwordType: 'PasswordDigest',
      mustUnderstand: true,
    }).toXML();
    const nonces = new NonceCache();
    expect(processSecurity('1.2', header(xml), POLICY, nonces, Date.now())).toEqual({
      username: CALLER.username,
      authenticated: true,
    });
    const replay = refusal(() => processSecurity('1.2', header(xml), POLICY, nonces, Date.now()));
    expect(wsse(replay)).toBe('FailedAuthentication');
    expect(replay.message).toMatch(/Nonce già usato/);
    expect(replay.user).toBe(CALLER.username);
  });

  it("takes node-soap's PasswordText token without a nonce", () => {
    const xml = new soap.WSSecurity(CALLER.username, CALLER.password).toXML();
    expect(processSecurity('1.2', header(xml), POLICY, new NonceCache(), Date.now())).toEqual({
      username: CALLER.username,
      authenticated: true,
    });
  });

  it('judges Created with the clock skew: within it accepted, beyond it refused', () => {
    const now = Date.now();
    const at = (offset: number) => header(securityHeader({ created: new Date(now + offset) }));
    for (const offset of [-5 * MINUTE - 30_000, 30_000])
      expect(processSecurity('1.2', at(offset), POLICY, new NonceCache(), now).authenticated).toBe(
        true,
      );
    for (const offset of [-6 * MINUTE - 1, MINUTE + 1])
      expect(
        wsse(refusal(() => processSecurity('1.2', at(offset), POLICY, new NonceCache(), now))),
      ).toBe('MessageExpired');
  });

  it('refuses a Timestamp past its Expires', () => {
    const now = Date.now();
    const created = new Date(now - 4 * MINUTE).toISOString();
    const expires = new Date(now - 2 * MINUTE).toISOString();
    const xml = `<wsse:Security xmlns:wsse="${WSSE_NS}" xmlns:wsu="${WSU_NS}"><wsu:Timestamp><wsu:Created>${created}</wsu:Created><wsu:Expires>${expires}</wsu:Expires></wsu:Timestamp></wsse:Security>`;
    const error = refusal(() => processSecurity('1.2', header(xml), POLICY, new NonceCache(), now));
    expect(wsse(error)).toBe('MessageExpired');
    expect(error.message).toMatch(/scaduto \(wsu:Expires\)/);
  });

  it('refuses a wrong user or password, naming neither which nor the password', () => {
    for (const token of [{ password: 'sbagliata' }, { username: 'altro' }]) {
      const error = refusal(() =>
        processSecurity('1.2', header(securityHeader(token)), POLICY, new NonceCache(), Date.now()),
      );
      expect(wsse(error)).toBe('FailedAuthentication');
      expect(error.message).toBe('credenziali dello UsernameToken non valide');
      expect(error.user).toBe(token.username ?? CALLER.username);
    }
  });

  it('does not remember the nonce of a token that failed, so the right one still passes', () => {
    const nonce = Buffer.alloc(16, 7);
    const nonces = new NonceCache();
    const now = Date.now();
    refusal(() =>
      processSecurity('1.2', header(securityHeader({ nonce, password: 'x' })), POLICY, nonces, now),
    );
    expect(nonces.size).toBe(0);
    expect(
      processSecurity('1.2', header(securityHeader({ nonce })), POLICY, nonces, now).authenticated,
    ).toBe(true);
  });

  it('refuses a digest without nonce, a signature, and two Security headers for the bridge', () => {
    const digestWithoutNonce = securityHeader().replace(/<wsse:Nonce[^>]*>[^<]*<\/wsse:Nonce>/, '');
    const signed = securityHeader().replace(
      '</wsse:Security>',
      '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/></wsse:Security>',
    );
    for (const [blocks, code] of [
      [digestWithoutNonce, 'InvalidSecurity'],
      [signed, 'UnsupportedSecurityToken'],
      [`${securityHeader()}${securityHeader()}`, 'InvalidSecurity'],
    ] as const)
      expect(
        wsse(
          refusal(() =>
            processSecurity('1.2', header(blocks), POLICY, new NonceCache(), Date.now()),
          ),
        ),
        blocks,
      ).toBe(code);
  });

  it('ignores a Security header for another role; reads but does not verify without credentials', () => {
    const other = securityHeader({ password: 'x' }).replace(
      'soap:mustUnderstand="true"',
      `soap:role="${SOAP12_NS}/role/none"`,
    );
    expect(processSecurity('1.2', header(other), POLICY, new NonceCache(), Date.now())).toEqual({
      username: undefined,
      authenticated: false,
    });
    const unverified = { ...POLICY, credentials: undefined };
    const nonces = new NonceCache();
    const token = header(securityHeader({ password: 'x' }));
    expect(processSecurity('1.2', token, unverified, nonces, Date.now())).toEqual({
      username: CALLER.username,
      authenticated: false,
    });
    expect(nonces.size).toBe(0);
    // Freshness holds with or without credentials.
    const stale = header(securityHeader({ created: new Date(Date.now() - 60 * MINUTE) }));
    expect(wsse(refusal(() => processSecurity('1.2', stale, unverified, nonces, Date.now())))).toBe(
      'MessageExpired',
    );
  });

  it('reads a SOAP 1.1 Security header with actor "next" as addressed to the bridge', () => {
    const xml = securityHeader({ password: 'x' }).replace(
      'soap:mustUnderstand="true"',
      'soap:actor="http://schemas.xmlsoap.org/soap/actor/next"',
    );
    const error = refusal(() =>
      processSecurity('1.1', header(xml, SOAP11_NS), POLICY, new NonceCache(), Date.now()),
    );
    expect(wsse(error)).toBe('FailedAuthentication');
  });
});

describe('the nonce cache', () => {
  it('forgets expired nonces to make room, and refuses rather than forget a live one', () => {
    const cache = new NonceCache(2);
    expect(cache.remember('a', 100, 0)).toBe(true);
    expect(cache.remember('b', 300, 0)).toBe(true);
    expect(cache.remember('a', 100, 50)).toBe(false);
    // At 200 "a" has expired: it makes room for "c".
    expect(cache.remember('c', 400, 200)).toBe(true);
    expect(cache.size).toBe(2);
    const full = refusal(() => cache.remember('d', 500, 250));
    expect(full.code).toBe('Receiver');
    expect(cache.remember('b', 300, 250)).toBe(false);
  });
});
