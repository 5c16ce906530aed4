import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrthanc, type OrthancPacs, type OrthancUploadAnswer } from '../../helpers/orthanc.js';
import { sampleFacts, validSamples, type SampleFacts } from '../../helpers/samples.js';
import { freePort, runTool } from '../../helpers/tools.js';

/*
 * The Orthanc test PACS: it starts on free ports, takes the samples over its REST API, and
 * answers DICOM only to the peers it was given: a listed calling AE may echo and query (Study
 * Root C-FIND), an unlisted one is rejected at association.
 */

const LISTED_AE = 'QRSCU';
const UNLISTED_AE = 'STRANGER';

let pacs: OrthancPacs;
let samples: SampleFacts[];
let answers: OrthancUploadAnswer[];

beforeAll(async () => {
  pacs = await startOrthanc({
    modalities: {
      qr: { aeTitle: LISTED_AE, host: '127.0.0.1', port: await freePort() },
    },
  });
  const files = validSamples();
  samples = await Promise.all(files.map((file) => sampleFacts(file)));
  answers = await pacs.uploadFiles(files);
});

afterAll(async () => {
  await pacs?.stop();
});

function association(callingAe: string): string[] {
  return ['-aet', callingAe, '-aec', pacs.aeTitle, pacs.host, String(pacs.dicomPort)];
}

describe('Orthanc test PACS', () => {
  it('holds one instance per distinct SOP Instance UID uploaded', async () => {
    const distinct = new Set(samples.map((sample) => sample.sopInstanceUid));
    expect(samples.every((sample) => sample.sopInstanceUid !== '')).toBe(true);
    expect(await pacs.instanceCount()).toBe(distinct.size);
    // The same instance in another transfer syntax is kept once.
    expect(answers.filter((answer) => answer.Status === 'Success')).toHaveLength(distinct.size);
    expect(
      answers.every((answer) => answer.Status === 'Success' || answer.Status === 'AlreadyStored'),
    ).toBe(true);
  });

  it('answers C-ECHO from a listed calling AE', async () => {
    const result = await runTool('echoscu', association(LISTED_AE), { timeoutMs: 30_000 });
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });

  it('rejects an association from an unlisted calling AE', async () => {
    const result = await runTool('echoscu', association(UNLISTED_AE), { timeoutMs: 30_000 });
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/Calling AE Title Not Recognized/i);
  });

  it('answers a Study Root C-FIND by accession number from a listed calling AE', async () => {
    // An accession number that names exactly one study among the samples.
    const studiesByAccession = new Map<string, Set<string>>();
    for (const sample of samples) {
      if (!sample.accessionNumber) continue;
      const studies = studiesByAccession.get(sample.accessionNumber) ?? new Set<string>();
      studies.add(sample.studyUid);
      studiesByAccession.set(sample.accessionNumber, studies);
    }
    const [accession, studies] = [...studiesByAccession].find(([, uids]) => uids.size === 1)!;
    const [studyUid] = [...studies];

    const result = await runTool(
      'findscu',
      [
        '-v',
        '-S',
        '-k',
        'QueryRetrieveLevel=STUDY',
        '-k',
        `AccessionNumber=${accession}`,
        '-k',
        'StudyInstanceUID',
        ...association(LISTED_AE),
      ],
      { timeoutMs: 30_000 },
    );
    const output = result.stdout + result.stderr;
    expect(result.code, output).toBe(0);
    expect(output).toMatch(/Final Find Response \(Success\)/);
    expect(output.match(/Find Response: \d+ \(Pending\)/g)).toHaveLength(1);
    const escaped = studyUid!.replaceAll('.', '\\.');
    expect(output).toMatch(new RegExp(`\\(0020,000d\\) UI \\[${escaped}\\s*\\]`));
  });
});
