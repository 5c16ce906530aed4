import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import {
  cxfEnvelope,
  postEpisodio,
  securityHeader,
  WSSE_NS,
  type GetDocumentoFields,
} from '../../helpers/get-documento.js';
import {
  CALLER,
  CLINICIAN_CF,
  GUARDIAN_CF,
  PATIENT_CF,
  basicAuth,
  obscure,
  push,
  registerMrReport,
} from '../../helpers/on-demand.js';
import { SAMPLES_DIR, filesUnder } from '../../helpers/samples.js';

/*
 * Who may have a document through GetDocumento: the caller authenticates with WS-Security as
 * the Region's client does (Timestamp and a digest UsernameToken) or with HTTP Basic; a wrong
 * password, a replayed nonce or a stale Created is a Fault, nothing is served, and the request
 * is an audit row. The requester then meets the obscuration rules of every on-demand request.
 */

const DOCUMENT = 'RAD-GD-SEC';
let bridge: TestBridge;

beforeAll(async () => {
  bridge = await startBridge({ onDemand: { authKind: 'basic', ...CALLER } });
  await push(bridge, filesUnder(join(SAMPLES_DIR, 'studies', '98892003', 'MR1')));
  for (const document of [DOCUMENT, 'RAD-GD-P99', 'RAD-GD-P98', 'RAD-GD-P97'])
    await registerMrReport(bridge, document);
}, 120_000);

afterAll(async () => {
  await disposeBridge(bridge);
});

/** Whether the retrieval service answered the request of transaction `transaction`. */
function served(transaction: string): boolean {
  return bridge.logs.some((l) => l.msg === 'on-demand retrieval' && l.transaction === transaction);
}

function auditRow(transaction: string) {
  return bridge.app.reporting.onDemand.store
    .auditOf(`010203^${DOCUMENT}`)
    .find((row) => row.transactionNumber === transaction);
}

/** A request for the document under a new transaction number, with `header` as its security. */
function request(header: string, fields: Partial<GetDocumentoFields> = {}) {
  const transaction = `TX-${randomBytes(6).toString('hex')}`;
  return {
    transaction,
    body: cxfEnvelope({ idDocumento: DOCUMENT, transaction, ...fields }, header),
  };
}

/** Expect a SOAP 1.2 Sender fault with the WS-Security subcode `wsse`, its text matching `reason`. */
function expectWsseFault(
  answer: { status: number; text: string },
  wsse: string,
  reason: RegExp,
): void {
  expect(answer.status, answer.text).toBe(400);
  expect(answer.text).toContain('<soap:Value>soap:Sender</soap:Value>');
  expect(answer.text).toContain(
    `<soap:Subcode><soap:Value xmlns:sc="${WSSE_NS}">sc:${wsse}</soap:Value></soap:Subcode>`,
  );
  expect(answer.text).toMatch(reason);
  expect(answer.text).not.toContain('<es:documento>');
}

describe('WS-Security as the Region sends it', () => {
  it('serves a request with a digest UsernameToken and a Timestamp, audited with its user', async () => {
    const { body, transaction } = request(securityHeader());
    const answer = await postEpisodio(bridge, body);
    expect(answer.status, answer.text).toBe(200);
    expect(answer.text).toContain('<es:esito>SUCCESSO</es:esito>');
    expect(served(transaction)).toBe(true);
    expect(auditRow(transaction)).toMatchObject({
      outcome: 'delivered',
      requesterCodiceFiscale: CLINICIAN_CF,
      role: 'MRP',
      application: 'WEBAPP_DMA',
      format: 'KOS',
    });
  });

  it('refuses a wrong password: a FailedAuthentication fault, nothing served, an audit row', async () => {
    const { body, transaction } = request(securityHeader({ password: 'sbagliata' }));
    const answer = await postEpisodio(bridge, body);
    expectWsseFault(answer, 'FailedAuthentication', /credenziali dello UsernameToken non valide/);
    expect(served(transaction)).toBe(false);
    const row = auditRow(transaction);
    expect(row).toMatchObject({
      outcome: 'refused',
      errorKind: 'invalid-request',
      requesterCodiceFiscale: CLINICIAN_CF,
      format: 'KOS',
    });
    expect(row?.refusal).toMatchObject({
      httpUser: CALLER.username,
      reason: 'credenziali dello UsernameToken non valide',
    });
    expect(JSON.stringify(bridge.logs)).not.toContain(CALLER.password);
  });

  it('refuses a replayed nonce: the second request with the same envelope is a fault, audited', async () => {
    const { body, transaction } = request(securityHeader());
    const first = await postEpisodio(bridge, body);
    expect(first.text).toContain('<es:esito>SUCCESSO</es:esito>');
    const replay = await postEpisodio(bridge, body);
    expectWsseFault(replay, 'FailedAuthentication', /wsse:Nonce già usato/);
    const rows = bridge.app.reporting.onDemand.store
      .auditOf(`010203^${DOCUMENT}`)
      .filter((row) => row.transactionNumber === transaction);
    expect(rows.map((row) => row.outcome)).toEqual(['delivered', 'refused']);
    expect(rows[1]!.refusal?.reason).toMatch(/wsse:Nonce già usato/);
  });

  it('refuses a stale Created, and one from the future beyond the clock skew', async () => {
    for (const [created, reason] of [
      [new Date(Date.now() - 10 * 60_000), /troppo vecchio: messaggio scaduto/],
      [new Date(Date.now() + 10 * 60_000), /è nel futuro/],
    ] as const) {
      const { body, transaction } = request(securityHeader({ created }));
      const answer = await postEpisodio(bridge, body);
      expectWsseFault(answer, 'MessageExpired', reason);
      expect(served(transaction)).toBe(false);
      expect(auditRow(transaction)).toMatchObject({ outcome: 'refused' });
      expect(auditRow(transaction)?.refusal?.reason).toMatch(reason);
    }
  });

  it('takes a PasswordText token as well, and refuses a wrong one', async () => {
    const good = request(securityHeader({ type: 'PasswordText' }));
    expect((await postEpisodio(bridge, good.body)).text).toContain('SUCCESSO');
    const bad = request(securityHeader({ type: 'PasswordText', password: 'sbagliata' }));
    expectWsseFault(await postEpisodio(bridge, bad.body), 'FailedAuthentication', /non valide/);
  });

  it('takes HTTP Basic instead of a token, and asks for credentials when there are none', async () => {
    const basic = request('');
    const served = await postEpisodio(bridge, basic.body, { authorization: basicAuth() });
    expect(served.text).toContain('<es:esito>SUCCESSO</es:esito>');
    const none = request('');
    const refused = await postEpisodio(bridge, none.body);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Basic realm="CLEpisodioService"/);
    expect(refused.text).toContain('autenticazione richiesta');
    expect(auditRow(none.transaction)).toMatchObject({ outcome: 'refused' });
    const wrongBasic = request(securityHeader());
    const wrong = await postEpisodio(bridge, wrongBasic.body, {
      authorization: `Basic ${Buffer.from(`${CALLER.username}:x`).toString('base64')}`,
    });
    expect(wrong.status).toBe(401);
  });

  it('answers SOAP 1.1 faults with the wsse code as faultcode', async () => {
    const { body } = request(securityHeader({ password: 'sbagliata' }));
    const v11 = body
      .replaceAll(
        'http://www.w3.org/2003/05/soap-envelope',
        'http://schemas.xmlsoap.org/soap/envelope/',
      )
      .replace('soap:mustUnderstand="true"', 'soap:mustUnderstand="1"');
    const answer = await postEpisodio(bridge, v11, { 'content-type': 'text/xml; charset=utf-8' });
    expect(answer.status).toBe(500);
    expect(answer.text).toContain(
      `<faultcode xmlns:sc="${WSSE_NS}">sc:FailedAuthentication</faultcode>`,
    );
    expect(answer.text).toContain('<faultstring xml:lang="it">');
  });
});

describe('obscuration through GetDocumento', () => {
  /** Ask as the patient, a doctor (ruolo MRP) or a guardian (ruolo TUT). */
  async function as(who: 'patient' | 'doctor' | 'guardian', document: string): Promise<string> {
    const fields = {
      patient: { richiedente: PATIENT_CF, ruolo: 'CIT' },
      doctor: { richiedente: CLINICIAN_CF, ruolo: 'MRP' },
      guardian: { richiedente: GUARDIAN_CF, ruolo: 'TUT' },
    }[who];
    const answer = await postEpisodio(
      bridge,
      cxfEnvelope({ idDocumento: document, ...fields }, securityHeader()),
    );
    expect(answer.status).toBe(200);
    return answer.text;
  }

  const OBSCURED =
    /<es:esito>FALLIMENTO<\/es:esito><es:documento><dma:idDocumento>RAD-GD-P9\d<\/dma:idDocumento><dma:idEpisodio>555111<\/dma:idEpisodio><dma:oscurato>SI<\/dma:oscurato><\/es:documento>/;

  it('P99 hides the document from professionals, not from the patient or a guardian', async () => {
    await obscure(bridge, 'RAD-GD-P99', 'P99');
    const doctor = await as('doctor', 'RAD-GD-P99');
    expect(doctor).toContain('<dma:codice>CL_ER_002</dma:codice>');
    expect(doctor).toMatch(OBSCURED);
    expect(doctor).not.toContain('<dma:documento>');
    expect(await as('patient', 'RAD-GD-P99')).toContain('<dma:oscurato>NO</dma:oscurato>');
    expect(await as('guardian', 'RAD-GD-P99')).toContain('<es:esito>SUCCESSO</es:esito>');
  });

  it('P98 hides it from the patient only; P97 from guardians only', async () => {
    await obscure(bridge, 'RAD-GD-P98', 'P98');
    expect(await as('patient', 'RAD-GD-P98')).toMatch(OBSCURED);
    expect(await as('doctor', 'RAD-GD-P98')).toContain('<es:esito>SUCCESSO</es:esito>');
    await obscure(bridge, 'RAD-GD-P97', 'P97');
    expect(await as('guardian', 'RAD-GD-P97')).toMatch(OBSCURED);
    expect(await as('doctor', 'RAD-GD-P97')).toContain('<es:esito>SUCCESSO</es:esito>');
    expect(await as('patient', 'RAD-GD-P97')).toContain('<es:esito>SUCCESSO</es:esito>');
  });
});
