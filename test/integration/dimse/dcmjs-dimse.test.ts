import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { inflateRawSync } from 'node:zlib';
import dcmjsDimse from 'dcmjs-dimse';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyseDataset, createWalker } from '../../../src/dicom/analyse.js';
import { BRIDGE_AE, disposeBridge, startBridge } from '../../helpers/bridge.js';
import {
  sampleFacts,
  sampleName,
  validSamples,
  type SampleFacts,
  roundsWithoutDuplicateUids,
  groupByTransferSyntax,
} from '../../helpers/samples.js';
import { closedAssociations } from '../../helpers/dimse-checks.js';
import { storedDataset } from '../../helpers/stored.js';

/*
 * dcmjs-dimse 0.3.3 (devDependency) as a test-only DIMSE client: an implementation independent
 * of src/dimse/. It ships its own type declarations (index.d.ts), used here; only the client's
 * `network` (to switch Nagle off) is not declared, hence the cast in `send`.
 *
 * How it proposes: for each SOP class one context with Implicit and Explicit VR Little Endian
 * (in that order), plus one context per other transfer syntax of the files, holding only that
 * syntax. It sends a dataset on a context accepted with the dataset's own syntax, else on the
 * first accepted context of its SOP class (transcoding uncompressed data). The bridge takes the
 * first supported syntax in the proposer's order, so Explicit VR Little Endian files arrive as
 * Implicit VR Little Endian and every other file in its own syntax. When no context was accepted
 * with the dataset's syntax it takes the *last* accepted context of the SOP class: in one
 * association with an Explicit VR Little Endian CT and a JPEG Lossless CT it tries to transcode
 * the former to JPEG (codecs not loaded: the request is silently dropped, no response). So each
 * association here carries files of one transfer syntax.
 *
 * Two samples it cannot send as they are (found here, both on the dcmjs-dimse side):
 * - single/ExplVR_BigEnd.dcm: its StudyDate is "1997.04.24" (the old ACR-NEMA form, 10
 *   characters); dcmjs refuses to encode a DA longer than 8 ("Value exceeds max length") and the
 *   client fails after sending the command. It is sent with StudyDate corrected instead.
 * - single/image_dfl.dcm (Deflated Explicit VR Little Endian): dcmjs-dimse proposes and uses the
 *   deflated syntax, but dcmjs's writer maps every syntax other than implicit/explicit little and
 *   big endian to explicit little endian and never deflates, so the bytes labelled deflated are
 *   plain explicit VR little endian. The bridge rightly answers 0xC000 and keeps nothing.
 */

const { Client, Dataset, log } = dcmjsDimse;
const { CEchoRequest, CStoreRequest } = dcmjsDimse.requests;
const { Status } = dcmjsDimse.constants;

// dcmjs-dimse turns on all its log levels at load.
log.setLevel('warn');
// Its own copy of dcmjs warns about every private element it writes ("Unknown name in dataset").
const dcmjsOfDimse = createRequire(createRequire(import.meta.url).resolve('dcmjs-dimse'))(
  'dcmjs',
) as { log: { setLevel(level: string): void } };
dcmjsOfDimse.log.setLevel('error');

const BIG_ENDIAN_ACR_DATE = 'single/ExplVR_BigEnd.dcm';
const DEFLATED = 'single/image_dfl.dcm';

const CALLING_AE = 'DCMJS';
const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';

type Request = InstanceType<typeof CEchoRequest> | InstanceType<typeof CStoreRequest>;

interface Outcome {
  /** Status of each request's response, in request order (undefined: no response). */
  statuses: Array<number | undefined>;
  /** The association was released (not rejected, aborted or broken). */
  released: boolean;
  /** A client-side or network error dcmjs-dimse reported. */
  error?: string;
}

/** Send `requests` over one association and wait for the connection to close. */
function send(port: number, requests: Request[], callingAe = CALLING_AE): Promise<Outcome> {
  return new Promise((resolve) => {
    const client = new Client();
    const statuses: Array<number | undefined> = requests.map(() => undefined);
    let released = false;
    let error: string | undefined;
    requests.forEach((request, i) => {
      request.on('response', (response: { getStatus(): number }) => {
        statuses[i] = response.getStatus();
      });
      client.addRequest(request);
    });
    client.on('associationReleased', () => (released = true));
    client.on('associationRejected', () => undefined);
    client.on('networkError', (reported: Error) => (error = reported.message));
    client.on('closed', () =>
      resolve(error === undefined ? { statuses, released } : { statuses, released, error }),
    );
    client.send('127.0.0.1', port, callingAe, BRIDGE_AE);
    (client as unknown as { network?: { socket: Socket } }).network?.socket.setNoDelay(true);
  });
}

let samples: SampleFacts[];

beforeAll(async () => {
  samples = await Promise.all(validSamples().map((path) => sampleFacts(path)));
});

function rounds(): SampleFacts[][] {
  return roundsWithoutDuplicateUids(samples);
}

describe('interoperability with dcmjs-dimse as SCU', () => {
  it('answers C-ECHO with Success', async () => {
    const bridge = await startBridge();
    try {
      const outcome = await send(bridge.port, [new CEchoRequest(), new CEchoRequest()]);
      expect(outcome).toEqual({ statuses: [Status.Success, Status.Success], released: true });
      expect(Status.Success).toBe(0x0000);
      expect(await closedAssociations(bridge, 1)).toEqual(['released']);
    } finally {
      await disposeBridge(bridge);
    }
  });

  it('rejects an association from a calling AE title that is not allowed', async () => {
    const bridge = await startBridge();
    try {
      const outcome = await send(bridge.port, [new CEchoRequest()], 'DCMJSSTRANGER');
      expect(outcome).toEqual({ statuses: [undefined], released: false });
      const rejected = bridge.logs.filter((line) => line.msg === 'association rejected');
      expect(rejected.map((line) => line.callingAe)).toEqual(['DCMJSSTRANGER']);
    } finally {
      await disposeBridge(bridge);
    }
  });

  it('stores every sample sent with C-STORE: Success for each, each instance indexed and readable', async () => {
    let checked = 0;
    for (const round of rounds()) {
      round.splice(
        0,
        round.length,
        ...round.filter(
          (sample) => ![BIG_ENDIAN_ACR_DATE, DEFLATED].includes(sampleName(sample.path)),
        ),
      );
      const bridge = await startBridge();
      try {
        const groups = [...groupByTransferSyntax(round).values()];
        for (const group of groups) {
          const outcome = await send(
            bridge.port,
            group.map((sample) => new CStoreRequest(sample.path)),
          );
          expect(outcome.error).toBeUndefined();
          group.forEach((sample, i) => {
            expect(outcome.statuses[i], `${sampleName(sample.path)}: C-STORE-RSP status`).toBe(
              0x0000,
            );
          });
          expect(outcome.released).toBe(true);
        }
        expect(await closedAssociations(bridge, groups.length)).toEqual(
          groups.map(() => 'released'),
        );

        for (const sample of round) {
          const name = sampleName(sample.path);
          const location = bridge.app.index.findInstance(sample.sopInstanceUid);
          expect(location, `${name} indexed`).toBeDefined();
          expect(location!.studyUid, name).toBe(sample.studyUid);
          expect(location!.seriesUid, name).toBe(sample.seriesUid);
          const instance = bridge.app.index
            .listInstances(sample.seriesUid)
            .find((i) => i.sopInstanceUid === sample.sopInstanceUid);
          expect(instance, name).toBeDefined();
          expect(instance!.callingAe, name).toBe(CALLING_AE);
          expect(instance!.sopClassUid, name).toBe(sample.sopClassUid);
          const stored = await storedDataset(bridge.app.store, location!.storageKey);
          expect(instance!.transferSyntaxUid, name).toBe(stored.transferSyntaxUid);
          const expectedSyntax =
            sample.transferSyntaxUid === EXPLICIT_LE ? IMPLICIT_LE : sample.transferSyntaxUid;
          expect(stored.transferSyntaxUid, `${name}: transfer syntax on the wire`).toBe(
            expectedSyntax,
          );
          const analysis = analyseDataset(stored.dataset, stored.transferSyntaxUid, 1024 * 1024);
          expect(analysis.uids.sopInstanceUid, name).toBe(sample.sopInstanceUid);
          expect(analysis.uids.seriesUid, name).toBe(sample.seriesUid);
          checked++;
        }
      } finally {
        await disposeBridge(bridge);
      }
    }
    expect(checked).toBe(samples.length - 2);
  });

  it('stores the big endian sample once dcmjs can encode its StudyDate', async () => {
    const sample = samples.find((s) => sampleName(s.path) === BIG_ENDIAN_ACR_DATE)!;
    const bridge = await startBridge();
    try {
      // As it is, dcmjs-dimse fails on the client side and nothing is stored.
      const asIs = await send(bridge.port, [new CStoreRequest(sample.path)]);
      expect(asIs.error).toMatch(/exceeds max length, vr: DA/);
      expect(asIs.statuses).toEqual([undefined]);
      expect(bridge.app.index.findInstance(sample.sopInstanceUid)).toBeUndefined();

      const dataset = Dataset.fromFile(sample.path)!;
      expect(dataset.getElement('StudyDate')).toBe('1997.04.24');
      dataset.setElement('StudyDate', '19970424');
      const outcome = await send(bridge.port, [new CStoreRequest(dataset)]);
      expect(outcome).toEqual({ statuses: [0x0000], released: true });
      const location = bridge.app.index.findInstance(sample.sopInstanceUid);
      expect(location).toBeDefined();
      const stored = await storedDataset(bridge.app.store, location!.storageKey);
      expect(stored.transferSyntaxUid).toBe('1.2.840.10008.1.2.2');
      expect(bridge.app.index.getStudy(sample.studyUid)?.studyDate).toBe('19970424');
      expect(
        analyseDataset(stored.dataset, stored.transferSyntaxUid, 1024 * 1024).uids.sopInstanceUid,
      ).toBe(sample.sopInstanceUid);
    } finally {
      await disposeBridge(bridge);
    }
  });

  it('refuses (0xC000) the "deflated" dataset dcmjs-dimse sends without deflating it', async () => {
    const sample = samples.find((s) => sampleName(s.path) === DEFLATED)!;
    expect(sample.transferSyntaxUid).toBe('1.2.840.10008.1.2.1.99');
    // What dcmjs-dimse puts on the wire for it: plain explicit VR little endian, not raw deflate.
    const onTheWire = Dataset.fromFile(sample.path)!.getDenaturalizedDataset();
    const walker = createWalker('1.2.840.10008.1.2.1', 1024 * 1024);
    walker.push(onTheWire);
    expect(walker.finish().length).toBe(onTheWire.length);
    expect(() => inflateRawSync(onTheWire)).toThrow();

    const bridge = await startBridge();
    try {
      const outcome = await send(bridge.port, [new CStoreRequest(sample.path)]);
      expect(outcome).toEqual({ statuses: [0xc000], released: true });
      expect(bridge.app.index.findInstance(sample.sopInstanceUid)).toBeUndefined();
      expect(bridge.app.index.countInstances()).toBe(0);
    } finally {
      await disposeBridge(bridge);
    }
  });
});
