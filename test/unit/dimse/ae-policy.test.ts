import { describe, expect, it } from 'vitest';
import { AePolicy } from '../../../src/dimse/ae-policy.js';

const OWN = 'FSEBRIDGE';
const CALLING_AE_NOT_RECOGNIZED = { result: 1, source: 1, reason: 3 };
const CALLED_AE_NOT_RECOGNIZED = { result: 1, source: 1, reason: 7 };

async function policy(): Promise<AePolicy> {
  return AePolicy.create(
    [OWN, 'FSEBRIDGE2'],
    [
      { aeTitle: 'STORESCU', host: undefined },
      { aeTitle: 'EMPTYHOST', host: '' },
      { aeTitle: 'MODALITY', host: '10.1.2.3' },
      { aeTitle: 'MODALITY', host: '10.1.2.4' },
      { aeTitle: 'V6PEER', host: 'fd00::15' },
      { aeTitle: 'BYNAME', host: 'localhost' },
    ],
  );
}

describe('AePolicy', () => {
  it('allows a configured peer calling one of our AE titles', async () => {
    const p = await policy();
    expect(p.check(OWN, 'STORESCU', '192.168.7.8')).toEqual({ allowed: true });
    expect(p.check('FSEBRIDGE2', 'STORESCU', '::ffff:192.168.7.8')).toEqual({ allowed: true });
    expect(p.check(OWN, 'EMPTYHOST', '203.0.113.9')).toEqual({ allowed: true });
    expect(p.ownAeTitles).toEqual([OWN, 'FSEBRIDGE2']);
  });

  it('rejects an unknown calling AE title: permanent, service user, calling AE not recognized (1/1/3)', async () => {
    const decision = (await policy()).check(OWN, 'INTRUDER', '127.0.0.1');
    expect(decision.allowed).toBe(false);
    if (decision.allowed) return;
    expect(decision.rejection).toEqual(CALLING_AE_NOT_RECOGNIZED);
    expect(decision.why).toMatch(/not an allowed peer/);
  });

  it('is case- and space-exact about AE titles', async () => {
    const p = await policy();
    expect(p.check(OWN, 'storescu', '10.0.0.1').allowed).toBe(false);
    expect(p.check('fsebridge', 'STORESCU', '10.0.0.1').allowed).toBe(false);
  });

  it('rejects a peer connecting from a host it is not configured for (1/1/3)', async () => {
    const p = await policy();
    expect(p.check(OWN, 'MODALITY', '10.1.2.3')).toEqual({ allowed: true });
    expect(p.check(OWN, 'MODALITY', '10.1.2.4')).toEqual({ allowed: true });
    expect(p.check(OWN, 'MODALITY', '::ffff:10.1.2.3')).toEqual({ allowed: true });
    const decision = p.check(OWN, 'MODALITY', '10.1.2.5');
    expect(decision.allowed).toBe(false);
    if (decision.allowed) return;
    expect(decision.rejection).toEqual(CALLING_AE_NOT_RECOGNIZED);
    expect(decision.why).toMatch(/host/);
    expect(p.check(OWN, 'MODALITY', '127.0.0.1').allowed).toBe(false);
  });

  it('matches IPv6 hosts and resolves host names when built', async () => {
    const p = await policy();
    expect(p.check(OWN, 'V6PEER', 'fd00::15')).toEqual({ allowed: true });
    expect(p.check(OWN, 'V6PEER', 'fd00::16').allowed).toBe(false);
    // localhost resolves (from /etc/hosts) to a loopback address.
    const fromLoopback = [p.check(OWN, 'BYNAME', '127.0.0.1'), p.check(OWN, 'BYNAME', '::1')];
    expect(fromLoopback.some((decision) => decision.allowed)).toBe(true);
    expect(p.check(OWN, 'BYNAME', '10.9.9.9').allowed).toBe(false);
  });

  it('rejects a called AE title that is not ours: called AE not recognized (1/1/7)', async () => {
    const decision = (await policy()).check('OTHERPACS', 'STORESCU', '10.0.0.1');
    expect(decision.allowed).toBe(false);
    if (decision.allowed) return;
    expect(decision.rejection).toEqual(CALLED_AE_NOT_RECOGNIZED);
  });

  it('checks the calling AE before the called AE', async () => {
    const decision = (await policy()).check('OTHERPACS', 'INTRUDER', '10.0.0.1');
    expect(decision.allowed).toBe(false);
    if (decision.allowed) return;
    expect(decision.rejection).toEqual(CALLING_AE_NOT_RECOGNIZED);
  });

  it('allows its own AE title from loopback (self-check), not from another address', async () => {
    const p = await policy();
    for (const address of ['127.0.0.1', '127.0.1.1', '::1', '::ffff:127.0.0.1']) {
      expect(p.check(OWN, OWN, address), address).toEqual({ allowed: true });
    }
    expect(p.check(OWN, 'FSEBRIDGE2', '127.0.0.1')).toEqual({ allowed: true });
    for (const address of ['10.0.0.1', '::ffff:10.0.0.1', 'fd00::1', '128.0.0.1']) {
      const decision = p.check(OWN, OWN, address);
      expect(decision.allowed, address).toBe(false);
      if (!decision.allowed) expect(decision.rejection).toEqual(CALLING_AE_NOT_RECOGNIZED);
    }
    // The self-check still has to call one of our titles.
    const wrongCalled = p.check('OTHERPACS', OWN, '127.0.0.1');
    expect(wrongCalled.allowed).toBe(false);
    if (!wrongCalled.allowed) expect(wrongCalled.rejection).toEqual(CALLED_AE_NOT_RECOGNIZED);
  });

  it('lets an entry without a host win over entries with one, in either order', async () => {
    const hostFirst = await AePolicy.create(
      [OWN],
      [
        { aeTitle: 'PACS', host: '10.0.0.1' },
        { aeTitle: 'PACS', host: undefined },
      ],
    );
    const hostLast = await AePolicy.create(
      [OWN],
      [
        { aeTitle: 'PACS', host: undefined },
        { aeTitle: 'PACS', host: '10.0.0.1' },
      ],
    );
    for (const p of [hostFirst, hostLast])
      expect(p.check(OWN, 'PACS', '10.0.0.2')).toEqual({ allowed: true });
  });

  it('allows nobody but itself with no peers configured', async () => {
    const p = await AePolicy.create([OWN], []);
    expect(p.check(OWN, 'STORESCU', '127.0.0.1').allowed).toBe(false);
    expect(p.check(OWN, OWN, '127.0.0.1').allowed).toBe(true);
  });
});
