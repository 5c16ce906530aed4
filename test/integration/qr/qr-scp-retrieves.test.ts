import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identifierOf } from '../../../src/dicom/identifier.js';
import { QR_SOP_CLASSES } from '../../../src/dicom/sop-class.js';
import type { ClientAssociation, IncomingStoreHandler } from '../../../src/dimse/client.js';
import {
  DimseStatusError,
  MoveDestinationUnknownError,
  RetrieveCancelledError,
  type SubOperationCounts,
} from '../../../src/dimse/errors.js';
import { QR_TRANSFER_SYNTAXES, cFind, cGet, cMove } from '../../../src/dimse/qr-scu.js';
import type { StoreReceiver } from '../../../src/dimse/store-service.js';
import { storageContexts } from '../../../src/retrieve/pacs-client.js';
import { BRIDGE_AE, disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import { connectClient, echoStatus, logsWithMessage, settle } from '../../helpers/dimse-checks.js';
import { IMPLICIT_LE, VERIFICATION } from '../../helpers/raw-peer.js';
import { startReferenceScp, type ReferenceScp } from '../../helpers/reference-scp.js';
import { SAMPLES_DIR } from '../../helpers/samples.js';
import { heldStudies, storedDataset, type HeldStudy } from '../../helpers/stored.js';
import {
  gate,
  startTestStoreScp,
  type StoreAnswer,
  type TestStoreScp,
} from '../../helpers/test-store-scp.js';
import { dcmsend } from '../../helpers/tools.js';

/*
 * The bridge's Q/R SCP: the counts of its pending responses, C-CANCEL, all retrieve slots
 * taken, and identifiers it cannot answer. The client is our own SCU (a tool cannot cancel or
 * overlap requests on cue). Move destinations: DCMTK storescp +B, and a C-STORE SCP on our
 * network layer that holds its answers until the test lets them go, so a C-MOVE stays in
 * progress exactly as long as a test needs.
 *
 * C-CANCEL of a C-FIND: the SCP lets incoming data be read between two matches, and the client
 * sends its C-CANCEL right behind the request, so the SCP reads it before its second match.
 */

const DEST_AE = 'HOLDSCP';
const STORESCP_AE = 'STORESCP';
const STUDY_ROOT_MOVE = QR_SOP_CLASSES.STUDY_ROOT.move;
const STUDY_ROOT_GET = QR_SOP_CLASSES.STUDY_ROOT.get;
const STUDY_ROOT_FIND = QR_SOP_CLASSES.STUDY_ROOT.find;

let bridge: TestBridge;
let destination: TestStoreScp;
let storescp: ReferenceScp;
/** How the destination answers; each test sets its own. */
let answer: StoreAnswer = () => ({ status: 0 });
/** The held study with the most instances. */
let study: HeldStudy;

beforeAll(async () => {
  destination = await startTestStoreScp({
    aeTitle: DEST_AE,
    callers: [BRIDGE_AE],
    answer: (request, dataset) => answer(request, dataset),
  });
  storescp = await startReferenceScp(STORESCP_AE);
  bridge = await startBridge({
    queryRetrieve: {
      maxConcurrentRetrieves: 1,
      moveDestinations: [
        { aeTitle: DEST_AE, host: '127.0.0.1', port: destination.port },
        { aeTitle: STORESCP_AE, host: '127.0.0.1', port: storescp.port },
      ],
    },
  });
  const sent = await dcmsend(bridge.port, [`${SAMPLES_DIR}studies`], { recurse: true });
  expect(sent.code, sent.stderr).toBe(0);
  study = heldStudies(bridge.app.index).sort((a, b) => b.instances.length - a.instances.length)[0]!;
  // Enough instances that a cancel after the first leaves some unsent.
  expect(study.instances.length).toBeGreaterThanOrEqual(5);
}, 120_000);

afterAll(async () => {
  await disposeBridge(bridge);
  await destination?.close();
  await storescp?.stop();
});

function moveClient(): Promise<ClientAssociation> {
  return connectClient(bridge, {
    contexts: [
      { abstractSyntax: STUDY_ROOT_MOVE, transferSyntaxes: [...QR_TRANSFER_SYNTAXES] },
      { abstractSyntax: STUDY_ROOT_FIND, transferSyntaxes: [...QR_TRANSFER_SYNTAXES] },
      { abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] },
    ],
  });
}

/** An association that can C-GET the study: its storage classes with the SCP role. */
function getClient(): Promise<ClientAssociation> {
  const classes = [...new Set(study.instances.map((i) => i.sopClassUid))];
  return connectClient(bridge, {
    contexts: [
      { abstractSyntax: STUDY_ROOT_GET, transferSyntaxes: [...QR_TRANSFER_SYNTAXES] },
      ...storageContexts(classes),
    ],
    roles: classes.map((sopClassUid) => ({ sopClassUid, scu: false, scp: true })),
  });
}

/** A C-GET store handler keeping each dataset, answering success. */
function collector(into: Map<string, Buffer>): IncomingStoreHandler {
  return (request): StoreReceiver => {
    const chunks: Buffer[] = [];
    let settleOutcome!: (outcome: { status: number }) => void;
    const outcome = new Promise<{ status: number }>((resolve) => (settleOutcome = resolve));
    return {
      outcome,
      write: (chunk) => chunks.push(chunk) > 0,
      onDrain: () => undefined,
      end() {
        into.set(request.sopInstanceUid, Buffer.concat(chunks));
        settleOutcome({ status: 0 });
      },
      fail: () => settleOutcome({ status: 0xa700 }),
    };
  };
}

const studyIdentifier = (): ReturnType<typeof identifierOf> =>
  identifierOf({ QueryRetrieveLevel: 'STUDY', StudyInstanceUID: study.studyUid });

function total(counts: SubOperationCounts): number {
  return counts.completed + counts.failed + counts.warning + counts.remaining;
}

async function expectSameAsStored(received: Map<string, Buffer>): Promise<void> {
  expect([...received.keys()].sort()).toEqual(study.instances.map((i) => i.sopInstanceUid).sort());
  for (const instance of study.instances) {
    const stored = await storedDataset(bridge.app.store, instance.storageKey);
    expect(received.get(instance.sopInstanceUid)!.equals(stored.dataset)).toBe(true);
  }
}

describe('sub-operation counts', () => {
  it('C-MOVE: remaining falls by one per pending response, the final counts are the instances', async () => {
    const client = await moveClient();
    try {
      const progress: SubOperationCounts[] = [];
      const counts = await cMove(client, 'STUDY_ROOT', STORESCP_AE, studyIdentifier(), {
        onProgress: (c) => progress.push(c),
      });
      const n = study.instances.length;
      expect(counts).toEqual({ completed: n, failed: 0, warning: 0, remaining: 0 });
      // A pending response after each sub-operation but the last, which the final one reports.
      expect(progress.map((c) => c.remaining)).toEqual(
        Array.from({ length: n - 1 }, (_, i) => n - 1 - i),
      );
      for (const c of progress) {
        expect(c).toEqual({
          completed: n - c.remaining,
          failed: 0,
          warning: 0,
          remaining: c.remaining,
        });
      }
      // What storescp received is what the bridge stored.
      const received = new Map(
        study.instances.map((i) => [i.sopInstanceUid, storescp.dataset(i.sopInstanceUid)!]),
      );
      await expectSameAsStored(received);
    } finally {
      await client.release();
    }
  });

  it('C-GET: the same counts, each instance back on the association as stored', async () => {
    const client = await getClient();
    try {
      const progress: SubOperationCounts[] = [];
      const received = new Map<string, Buffer>();
      const counts = await cGet(client, 'STUDY_ROOT', studyIdentifier(), collector(received), {
        onProgress: (c) => progress.push(c),
      });
      const n = study.instances.length;
      expect(counts).toEqual({ completed: n, failed: 0, warning: 0, remaining: 0 });
      expect(progress.map((c) => c.remaining)).toEqual(
        Array.from({ length: n - 1 }, (_, i) => n - 1 - i),
      );
      for (const c of progress) {
        expect(c).toEqual({
          completed: n - c.remaining,
          failed: 0,
          warning: 0,
          remaining: c.remaining,
        });
      }
      await expectSameAsStored(received);
    } finally {
      await client.release();
    }
  });
});

describe('C-CANCEL of a C-MOVE', () => {
  it('ends with 0xFE00 and counts that add up; the bridge keeps serving', async () => {
    destination.requests.length = 0;
    destination.datasets.clear();
    const hold = gate();
    let answered = 0;
    // The first instance is answered at once, the others only once the test lets them go.
    answer = async () => {
      if (answered++ > 0) await hold.wait;
      return { status: 0 };
    };
    const client = await moveClient();
    try {
      const controller = new AbortController();
      const progress: SubOperationCounts[] = [];
      const outcome = await settle(
        cMove(client, 'STUDY_ROOT', DEST_AE, studyIdentifier(), {
          signal: controller.signal,
          onProgress: (counts) => {
            progress.push(counts);
            if (progress.length > 1) return;
            // C-CANCEL goes out now. The answer to the second instance waits until the whole
            // instance is at the destination, which takes the bridge event-loop turns of file
            // reads and writes after the C-CANCEL reached its socket: it reads the C-CANCEL
            // before that answer, so the move stops after the second instance.
            controller.abort();
            void destination.received(2).then(() => hold.open());
          },
        }),
      );
      expect(outcome.ok).toBe(false);
      const error = (outcome as { error: unknown }).error;
      expect(error).toBeInstanceOf(RetrieveCancelledError);
      const counts = (error as RetrieveCancelledError).counts;
      expect(counts.completed).toBe(2);
      expect(counts.remaining).toBeGreaterThan(0);
      expect(total(counts)).toBe(study.instances.length);
      expect(counts.failed + counts.warning).toBe(0);
      // No sub-operation started after the cancel, and none is pending after it.
      expect(destination.requests).toHaveLength(counts.completed);
      expect(progress).toHaveLength(1);
      const cancelled = logsWithMessage(bridge, 'retrieve cancelled');
      expect(cancelled.at(-1)).toMatchObject({
        completed: counts.completed,
        remaining: counts.remaining,
      });
      // The association still answers.
      expect(await client.echo()).toBe(0);
    } finally {
      hold.open();
      await client.release();
    }
    expect(await echoStatus(bridge)).toBe(0);
    // The retrieve slot was given back: the same study moves in full.
    answer = () => ({ status: 0 });
    const again = await moveClient();
    try {
      const counts = await cMove(again, 'STUDY_ROOT', DEST_AE, studyIdentifier());
      expect(counts).toEqual({
        completed: study.instances.length,
        failed: 0,
        warning: 0,
        remaining: 0,
      });
    } finally {
      await again.release();
    }
  });
});

describe('retrieves beyond queryRetrieve.maxConcurrentRetrieves', () => {
  it('are refused with 0xA701 (C-MOVE) and 0xA702 (C-GET) until the running one ends', async () => {
    const hold = gate();
    answer = async () => {
      await hold.wait;
      return { status: 0 };
    };
    destination.datasets.clear();
    const first = await moveClient();
    const second = await moveClient();
    const getter = await getClient();
    try {
      const running = settle(cMove(first, 'STUDY_ROOT', DEST_AE, studyIdentifier()));
      // The first move holds the only slot once its first instance is at the destination.
      await destination.received(1);

      const move = await settle(cMove(second, 'STUDY_ROOT', DEST_AE, studyIdentifier()));
      expect(move.ok).toBe(false);
      const moveError = (move as { error: unknown }).error;
      expect(moveError).toBeInstanceOf(DimseStatusError);
      expect(moveError).not.toBeInstanceOf(MoveDestinationUnknownError);
      expect((moveError as DimseStatusError).status).toBe(0xa701);

      const received = new Map<string, Buffer>();
      const get = await settle(cGet(getter, 'STUDY_ROOT', studyIdentifier(), collector(received)));
      expect(get.ok).toBe(false);
      const getError = (get as { error: unknown }).error;
      expect(getError).toBeInstanceOf(DimseStatusError);
      expect((getError as DimseStatusError).status).toBe(0xa702);
      expect(received.size).toBe(0);

      hold.open();
      const done = await running;
      expect(done).toEqual({
        ok: true,
        value: { completed: study.instances.length, failed: 0, warning: 0, remaining: 0 },
      });

      // With the slot free again, both work on the same associations.
      const moved = await cMove(second, 'STUDY_ROOT', DEST_AE, studyIdentifier());
      expect(moved.completed).toBe(study.instances.length);
      const got = await cGet(getter, 'STUDY_ROOT', studyIdentifier(), collector(received));
      expect(got).toEqual({
        completed: study.instances.length,
        failed: 0,
        warning: 0,
        remaining: 0,
      });
      await expectSameAsStored(received);
    } finally {
      hold.open();
      await Promise.all([first.release(), second.release(), getter.release()]);
    }
  });
});

describe('identifiers the SCP cannot answer', () => {
  it('refuses a C-FIND with an invalid or missing QueryRetrieveLevel with 0xA900', async () => {
    const client = await moveClient();
    try {
      for (const level of ['SERIESX', '']) {
        const query = identifierOf({ QueryRetrieveLevel: level, StudyInstanceUID: '' });
        const found = await settle(cFind(client, 'STUDY_ROOT', query));
        expect(found.ok, `level ${JSON.stringify(level)}`).toBe(false);
        const error = (found as { error: unknown }).error;
        expect(error).toBeInstanceOf(DimseStatusError);
        expect((error as DimseStatusError).status).toBe(0xa900);
      }
      // The same association still answers a valid query.
      const matches = await cFind(
        client,
        'STUDY_ROOT',
        identifierOf({ QueryRetrieveLevel: 'STUDY', StudyInstanceUID: study.studyUid }),
      );
      expect(matches).toHaveLength(1);
    } finally {
      await client.release();
    }
  });

  it('refuses a C-MOVE with an invalid QueryRetrieveLevel with 0xA900 and sends nothing', async () => {
    destination.requests.length = 0;
    const client = await moveClient();
    try {
      const moved = await settle(
        cMove(
          client,
          'STUDY_ROOT',
          DEST_AE,
          identifierOf({ QueryRetrieveLevel: 'FRAME', StudyInstanceUID: study.studyUid }),
        ),
      );
      expect(moved.ok).toBe(false);
      const error = (moved as { error: unknown }).error;
      expect(error).toBeInstanceOf(DimseStatusError);
      expect((error as DimseStatusError).status).toBe(0xa900);
      expect(destination.requests).toHaveLength(0);
    } finally {
      await client.release();
    }
  });
});

describe('C-CANCEL of a C-FIND', () => {
  it('stops sending matches and answers 0xFE00; the association answers again', async () => {
    const client = await moveClient();
    try {
      const query = identifierOf({ QueryRetrieveLevel: 'STUDY', StudyInstanceUID: '' });
      const total = bridge.app.index.listStudies().length;
      expect(total).toBeGreaterThanOrEqual(3);
      const cancelled = await settle(
        cFind(client, 'STUDY_ROOT', query, { signal: AbortSignal.abort() }),
      );
      expect(cancelled.ok ? 'resolved' : cancelled.error).toBeInstanceOf(RetrieveCancelledError);
      const answered = logsWithMessage(bridge, 'C-FIND answered').at(-1)!;
      expect(answered).toMatchObject({ matches: total, cancelled: true });
      expect(answered.sent as number).toBeLessThan(total);
      // The same association, uncancelled, gets every match.
      expect(await cFind(client, 'STUDY_ROOT', query)).toHaveLength(total);
    } finally {
      await client.release();
    }
  });
});
