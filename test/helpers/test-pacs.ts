import { createReadStream } from 'node:fs';
import { identifierOf, type Identifier } from '../../src/dicom/identifier.js';
import { splitPart10 } from '../../src/dicom/part10-stream.js';
import { AePolicy } from '../../src/dimse/ae-policy.js';
import {
  NO_TRANSCODING,
  type QrService,
  type RetrieveInstance,
} from '../../src/dimse/qr-service.js';
import { DimseServer } from '../../src/dimse/scp.js';
import { BRIDGE_AE } from './bridge.js';
import { quietLog } from './dimse-checks.js';
import { sampleFacts, validSamples, type SampleFacts } from './samples.js';

/*
 * A PACS built on the bridge's own network layer, for what Orthanc cannot be made to do: count
 * its C-FINDs and C-MOVEs, announce a number of instances of its choosing, or hold an instance
 * until the test lets it go. It holds one study made of sample files, answers every C-FIND
 * with it and sends all of it to the bridge (BRIDGE_AE) at every C-MOVE.
 */

export interface TestPacsOptions {
  aeTitle: string;
  /** The instances of the study, in the order they are sent. */
  instances: SampleFacts[];
  accessionNumber: string;
  /** NumberOfStudyRelatedInstances of the C-FIND answer; by default, how many it sends. */
  announcedInstances?: number;
  /** The bridge's port, asked at each C-MOVE (the bridge may start after the PACS). */
  bridgePort: () => number | undefined;
  /** Awaited before the instance at `index` is read to be sent. */
  beforeSend?: (index: number) => Promise<void>;
  /** The port to listen on; default any free one. */
  port?: number;
}

export interface TestPacs {
  port: number;
  /** C-FIND requests answered so far. */
  readonly finds: number;
  /** C-MOVE requests answered so far. */
  readonly moves: number;
  /** Associations callers have open with it now. */
  readonly openAssociations: number;
  close(): Promise<void>;
}

/** The valid samples of the study of the first sample whose path contains `pathPart`. */
export async function sampleStudy(pathPart: string): Promise<SampleFacts[]> {
  const all = await Promise.all(validSamples().map((path) => sampleFacts(path)));
  const study = all.find((s) => s.path.includes(pathPart))!.studyUid;
  return all.filter((s) => s.studyUid === study);
}

export async function startTestPacs(options: TestPacsOptions): Promise<TestPacs> {
  const { instances, beforeSend } = options;
  let finds = 0;
  let moves = 0;
  const instanceOf = (sample: SampleFacts, index: number): RetrieveInstance => ({
    sopClassUid: sample.sopClassUid,
    sopInstanceUid: sample.sopInstanceUid,
    transferSyntaxUid: sample.transferSyntaxUid,
    open: async () => {
      await beforeSend?.(index);
      return (await splitPart10(createReadStream(sample.path))).dataset;
    },
  });
  const service: QrService = {
    find: (): Identifier[] => {
      finds++;
      return [
        identifierOf({
          QueryRetrieveLevel: 'STUDY',
          StudyInstanceUID: instances[0]!.studyUid,
          AccessionNumber: options.accessionNumber,
          PatientID: instances[0]!.patientId,
          NumberOfStudyRelatedInstances: String(options.announcedInstances ?? instances.length),
        }),
      ];
    },
    select: () => {
      moves++;
      return instances.map(instanceOf);
    },
    moveDestination: (aeTitle) => {
      const port = options.bridgePort();
      return aeTitle === BRIDGE_AE && port !== undefined
        ? { aeTitle, host: '127.0.0.1', port }
        : undefined;
    },
    acquireRetrieveSlot: () => () => undefined,
    transcoding: NO_TRANSCODING,
    sendTimeoutMs: 10_000,
  };
  const server = new DimseServer(
    {
      host: '127.0.0.1',
      port: options.port ?? 0,
      maxAssociations: 8,
      maxPduLength: 64 * 1024,
      artimMs: 10_000,
      idleTimeoutMs: 30_000,
      acceptPrivateSopClasses: false,
    },
    await AePolicy.create([options.aeTitle], [{ aeTitle: BRIDGE_AE, host: undefined }]),
    {
      begin: () => {
        throw new Error('the test PACS takes no C-STORE');
      },
    },
    quietLog,
    service,
  );
  const port = await server.listen();
  return {
    port,
    get finds() {
      return finds;
    },
    get moves() {
      return moves;
    },
    get openAssociations() {
      return server.activeAssociations;
    },
    close: () => server.close(1000),
  };
}
