import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identifierOf, type Identifier } from '../../../src/dicom/identifier.js';
import { QR_SOP_CLASSES } from '../../../src/dicom/sop-class.js';
import { AePolicy } from '../../../src/dimse/ae-policy.js';
import { openAssociation } from '../../../src/dimse/client.js';
import { MatchesTooLargeError } from '../../../src/dimse/errors.js';
import { MAX_FIND_BYTES, QR_TRANSFER_SYNTAXES, cFind } from '../../../src/dimse/qr-scu.js';
import { NO_TRANSCODING, type QrService } from '../../../src/dimse/qr-service.js';
import { DimseServer } from '../../../src/dimse/scp.js';
import { quietLog, settle } from '../../helpers/dimse-checks.js';

/*
 * A PACS may answer a C-FIND with matches of any size. Decoded, a match takes several times its
 * bytes, so the bridge bounds the bytes of a query's matches, not only their number: past the
 * bound it cancels the query and says why, rather than filling its heap.
 */

const DESCRIPTION_CHARS = 60_000;
let pacs: DimseServer;
let port: number;

/** `count` matches of about DESCRIPTION_CHARS bytes each. */
function matches(count: number): Identifier[] {
  return Array.from({ length: count }, (_, i) =>
    identifierOf({
      QueryRetrieveLevel: 'STUDY',
      StudyInstanceUID: `1.2.826.0.1.3680043.10.513.${i + 1}`,
      StudyDescription: 'D'.repeat(DESCRIPTION_CHARS),
    }),
  );
}

let answer: Identifier[] = [];

beforeAll(async () => {
  const service: QrService = {
    find: () => answer,
    select: () => [],
    moveDestination: () => undefined,
    acquireRetrieveSlot: () => () => undefined,
    transcoding: NO_TRANSCODING,
    sendTimeoutMs: 10_000,
  };
  pacs = new DimseServer(
    {
      host: '127.0.0.1',
      port: 0,
      maxAssociations: 4,
      maxPduLength: 64 * 1024,
      artimMs: 10_000,
      idleTimeoutMs: 30_000,
      acceptPrivateSopClasses: false,
    },
    await AePolicy.create(['BIGPACS'], [{ aeTitle: 'FSEBRIDGE', host: undefined }]),
    {
      begin: () => {
        throw new Error('no C-STORE here');
      },
    },
    quietLog,
    service,
  );
  port = await pacs.listen();
});
afterAll(() => pacs.close(1_000));

async function find(): ReturnType<typeof settle<Identifier[]>> {
  const client = await openAssociation({
    host: '127.0.0.1',
    port,
    callingAe: 'FSEBRIDGE',
    calledAe: 'BIGPACS',
    contexts: [
      {
        abstractSyntax: QR_SOP_CLASSES.STUDY_ROOT.find,
        transferSyntaxes: [...QR_TRANSFER_SYNTAXES],
      },
    ],
    connectTimeoutMs: 5_000,
    log: quietLog,
  });
  try {
    return await settle(
      cFind(
        client,
        'STUDY_ROOT',
        identifierOf({ QueryRetrieveLevel: 'STUDY', StudyInstanceUID: '' }),
        {
          timeoutMs: 30_000,
        },
      ),
    );
  } finally {
    await client.abort();
  }
}

describe('C-FIND matches from a PACS', () => {
  it(`are taken up to ${MAX_FIND_BYTES} bytes in all`, async () => {
    answer = matches(Math.floor(MAX_FIND_BYTES / DESCRIPTION_CHARS) - 10);
    const found = await find();
    expect(found.ok).toBe(true);
    expect(found.ok && found.value).toHaveLength(answer.length);
  });

  it('are refused past that, with the query cancelled and the reason named', async () => {
    answer = matches(Math.ceil(MAX_FIND_BYTES / DESCRIPTION_CHARS) + 10);
    const found = await find();
    expect(found.ok).toBe(false);
    expect(!found.ok && found.error).toBeInstanceOf(MatchesTooLargeError);
    expect(String(!found.ok && found.error)).toMatch(/more than 16777216 bytes in all/);
  });
});
