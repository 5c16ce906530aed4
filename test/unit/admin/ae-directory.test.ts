import { describe, expect, it } from 'vitest';
import { allowedPeersOf } from '../../../src/admin/ae-directory.js';
import { normalisePacsNodes } from '../../../src/config/pacs-nodes.js';
import { AePolicy } from '../../../src/dimse/ae-policy.js';

const OWN = 'FSEBRIDGE';
const CALLING_AE_NOT_RECOGNIZED = { result: 1, source: 1, reason: 3 };

const nodes = normalisePacsNodes(
  [
    {
      name: 'pacs-asr',
      aeTitle: 'PACS_ASR',
      host: '10.20.30.40',
      port: 104,
      sendingAeTitles: ['PACS_ASR', 'PACS_ASR_SND'],
    },
    { name: 'pacs-two', aeTitle: 'PACS_TWO', host: '10.20.30.41', port: 104 },
  ],
  [OWN],
);

describe('allowedPeersOf', () => {
  it("ties each sending AE title of a PACS node to the node's host", () => {
    expect(allowedPeersOf([], nodes)).toEqual([
      { aeTitle: 'PACS_ASR', host: '10.20.30.40' },
      { aeTitle: 'PACS_ASR_SND', host: '10.20.30.40' },
      { aeTitle: 'PACS_TWO', host: '10.20.30.41' },
    ]);
  });

  it('keeps the allowed peers as they are, with and without a host', () => {
    expect(
      allowedPeersOf(
        [{ aeTitle: 'VIEWER', host: '10.20.31.15' }, { aeTitle: 'ANYWHERE' }],
        [nodes[1]!],
      ),
    ).toEqual([
      { aeTitle: 'VIEWER', host: '10.20.31.15' },
      { aeTitle: 'ANYWHERE', host: undefined },
      { aeTitle: 'PACS_TWO', host: '10.20.30.41' },
    ]);
  });

  it('gives a policy that refuses a sending AE title from any other host (1/1/3)', async () => {
    const policy = await AePolicy.create([OWN], allowedPeersOf([], nodes));
    expect(policy.check(OWN, 'PACS_ASR_SND', '10.20.30.40')).toEqual({ allowed: true });
    for (const address of ['10.20.30.41', '127.0.0.1', '192.168.1.1']) {
      const decision = policy.check(OWN, 'PACS_ASR_SND', address);
      expect(decision.allowed, address).toBe(false);
      if (!decision.allowed) expect(decision.rejection).toEqual(CALLING_AE_NOT_RECOGNIZED);
    }
    // Another node's host does not make its sending AE titles interchangeable.
    expect(policy.check(OWN, 'PACS_TWO', '10.20.30.40').allowed).toBe(false);
  });
});
