import { createHash, randomBytes } from 'node:crypto';
import { WSSE_NS, WSU_NS } from '../../src/soap/namespaces.js';
import { CALLER } from './on-demand.js';

export { WSSE_NS, WSU_NS };
const TOKEN_PROFILE =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0';
/** A UsernameToken as WSS4J writes one: digest, 16-byte nonce, Created with milliseconds. */
export interface Token {
  username?: string;
  password?: string;
  /** Created of the token and the Timestamp (default: now). */
  created?: Date;
  nonce?: Buffer;
  type?: 'PasswordDigest' | 'PasswordText';
}

/** The wsse:Security header of the Region's client: Timestamp first, then the UsernameToken. */
export function securityHeader(token: Token = {}): string {
  const created = (token.created ?? new Date()).toISOString();
  const expires = new Date(Date.parse(created) + 300_000).toISOString();
  const nonce = token.nonce ?? randomBytes(16);
  const password = token.password ?? CALLER.password;
  const type = token.type ?? 'PasswordDigest';
  const value =
    type === 'PasswordDigest'
      ? createHash('sha1')
          .update(Buffer.concat([nonce, Buffer.from(created), Buffer.from(password)]))
          .digest('base64')
      : password;
  return `<wsse:Security xmlns:wsse="${WSSE_NS}" xmlns:wsu="${WSU_NS}" soap:mustUnderstand="true"><wsu:Timestamp wsu:Id="TS-${randomBytes(4).toString('hex')}"><wsu:Created>${created}</wsu:Created><wsu:Expires>${expires}</wsu:Expires></wsu:Timestamp><wsse:UsernameToken wsu:Id="UsernameToken-${randomBytes(4).toString('hex')}"><wsse:Username>${token.username ?? CALLER.username}</wsse:Username><wsse:Password Type="${TOKEN_PROFILE}#${type}">${value}</wsse:Password><wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${nonce.toString('base64')}</wsse:Nonce><wsu:Created>${created}</wsu:Created></wsse:UsernameToken></wsse:Security>`;
}
