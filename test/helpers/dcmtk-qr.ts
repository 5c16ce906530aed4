import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseFileMeta } from '../../src/dicom/file-meta.js';
import { BRIDGE_AE } from './bridge.js';
import { runTool } from './tools.js';

/*
 * The bridge's Q/R SCP as DCMTK's findscu and getscu see it (Study Root), for tests that check
 * what a study holds from the outside.
 */

/**
 * findscu at study level with `keys` (e.g. `AccessionNumber=A1`): the studies answered, each
 * with the NumberOfStudyRelatedInstances it was answered with.
 */
export async function findStudies(
  port: number,
  keys: string[],
  callingAe = 'TESTSCU',
): Promise<Map<string, number>> {
  const result = await runTool('findscu', [
    '-v',
    '-S',
    '-aet',
    callingAe,
    '-aec',
    BRIDGE_AE,
    ...[
      'QueryRetrieveLevel=STUDY',
      'StudyInstanceUID',
      'NumberOfStudyRelatedInstances',
      ...keys,
    ].flatMap((key) => ['-k', key]),
    '127.0.0.1',
    String(port),
  ]);
  if (result.code !== 0) throw new Error(`findscu failed: ${result.stderr}`);
  const studies = new Map<string, number>();
  let study: string | undefined;
  for (const line of (result.stdout + result.stderr).split('\n')) {
    const uid = /\(0020,000d\) UI \[([^\]]*)\]/.exec(line)?.[1];
    if (uid !== undefined) study = uid.replace(/\0/g, '').trim();
    const count = /\(0020,1208\) IS \[([^\]]*)\]/.exec(line)?.[1];
    if (count !== undefined && study !== undefined) studies.set(study, Number(count));
  }
  return studies;
}

/** getscu of a whole study into a new directory under `parent`: the datasets, by SOP UID. */
export async function getStudy(
  port: number,
  studyUid: string,
  parent: string,
  callingAe = 'TESTSCU',
): Promise<Map<string, Buffer>> {
  const into = mkdtempSync(join(parent, 'getscu-'));
  const result = await runTool('getscu', [
    '-v',
    '-S',
    '+B',
    '-od',
    into,
    '-aet',
    callingAe,
    '-aec',
    BRIDGE_AE,
    '-k',
    'QueryRetrieveLevel=STUDY',
    '-k',
    `StudyInstanceUID=${studyUid}`,
    '127.0.0.1',
    String(port),
  ]);
  if (result.code !== 0) throw new Error(`getscu failed: ${result.stderr}`);
  return new Map(
    readdirSync(into).map((name) => {
      const file = readFileSync(join(into, name));
      const meta = parseFileMeta(file);
      return [meta.sopInstanceUid, file.subarray(meta.datasetOffset)];
    }),
  );
}
