import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../../src/admin/ae-config-store.js';
import { disposeBridge, type TestBridge } from '../../helpers/bridge.js';
import { adminCall, startAdminBridge } from './admin-fixture.js';

/*
 * The admin API's dead letters: a notification that went dead is sent again from the admin
 * API, audited; one that is not dead, or unknown, or a malformed id, is refused.
 */

let bridge: TestBridge;
let http: number;

beforeAll(async () => {
  bridge = await startAdminBridge();
  http = bridge.app.reporting.httpPort;
});

afterAll(() => disposeBridge(bridge));

/** A notification in the outbox, marked dead as the worker does after its last attempt. */
function deadLetter(key: string): number {
  const { outbox } = bridge.app.reporting;
  const { item } = outbox.enqueue({
    kind: 'images-available',
    reportKey: `CL1/${key}`,
    idempotencyKey: `dead-${key}`,
    payload: JSON.stringify({ codCL: 'CL1', codDocumentoDipartimentale: key }),
  });
  expect(outbox.markDead(item.id, 'HTTP 500 from the FSE', 500)).toBe(true);
  return item.id;
}

describe('admin API: dead letters', () => {
  it('lists a dead letter, sends it again and audits who did', async () => {
    const id = deadLetter('DOC-1');
    const listed = await adminCall<{ dead: Array<{ id: number }> }>(
      http,
      'GET',
      '/admin/api/outbox',
    );
    expect(listed.status).toBe(200);
    expect(listed.body.dead.map((letter) => letter.id)).toContain(id);

    const resent = await adminCall(http, 'POST', `/admin/api/outbox/${id}/resend`);
    expect(resent).toMatchObject({ status: 200, body: { id, status: 'pending' } });
    expect(bridge.app.reporting.outbox.get(id)?.status).not.toBe('dead');

    const audit = await adminCall<AuditEntry[]>(http, 'GET', '/admin/api/audit');
    expect(
      audit.body.find((entry) => entry.action === 'resend' && entry.entityKey === String(id)),
    ).toMatchObject({ actor: 'token', entity: 'outbox', after: { status: 'pending' } });
  });

  it('refuses a letter that is not dead (409), an unknown one (404) and a malformed id (400)', async () => {
    const id = deadLetter('DOC-2');
    expect((await adminCall(http, 'POST', `/admin/api/outbox/${id}/resend`)).status).toBe(200);
    const again = await adminCall<{ error: string }>(
      http,
      'POST',
      `/admin/api/outbox/${id}/resend`,
    );
    expect(again.status).toBe(409);
    const unknown = await adminCall<{ error: string }>(
      http,
      'POST',
      '/admin/api/outbox/999999/resend',
    );
    expect(unknown).toMatchObject({ status: 404, body: { error: 'not-found' } });
    const malformed = await adminCall<{ message: string }>(
      http,
      'POST',
      '/admin/api/outbox/x/resend',
    );
    expect(malformed.status).toBe(400);
    expect(JSON.stringify(malformed.body)).toContain('id');
    const audit = await adminCall<AuditEntry[]>(http, 'GET', '/admin/api/audit');
    const resends = audit.body.filter(
      (entry) => entry.entity === 'outbox' && entry.entityKey === String(id),
    );
    expect(resends).toHaveLength(1);
  });
});
