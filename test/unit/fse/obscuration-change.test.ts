import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changeObscuration } from '../../../src/fse/obscuration-change.js';
import { ReportValidationError, type ReportRegistration } from '../../../src/fse/report.js';
import { ReportStore } from '../../../src/fse/report-store.js';
import { createLogger } from '../../../src/logger.js';

/*
 * The obscuration change both the SOAP endpoint and the reports API apply, on a real report
 * store: recorded with the codes in force after it, logged, and refused for a report the bridge
 * knows by another regional index id.
 */

const REPORT: ReportRegistration = {
  codCL: 'ASL1',
  codDocumentoDipartimentale: 'DOC-1',
  idDocumentoIlec: 'ILEC-1',
  accessions: [{ accessionNumber: 'ACC-1', issuer: '' }],
  patientId: 'PAT-1',
  issuerOfPatientId: '',
  codiceFiscale: undefined,
  signedAt: undefined,
  source: 'http',
};
const AT = '2024-03-01T10:00:00.000Z';

let dir: string;
let reports: ReportStore;
let logged: Array<Record<string, unknown>>;
let deps: Parameters<typeof changeObscuration>[0];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'obscuration-change-'));
  reports = ReportStore.open(join(dir, 'index.db'));
  reports.upsert(REPORT, AT);
  logged = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logged.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      callback();
    },
  });
  deps = { reports, log: createLogger('info', sink), now: () => AT };
});

afterEach(() => {
  reports.close();
  rmSync(dir, { recursive: true, force: true });
});

const change = (overrides: Record<string, unknown> = {}) => ({
  codCL: 'ASL1',
  codDocumentoDipartimentale: 'DOC-1',
  eventCode: 'P99' as const,
  source: 'FSE',
  ...overrides,
});

describe('changeObscuration', () => {
  it('records the change, answers the codes in force and logs them', () => {
    expect(changeObscuration(deps, change()).state?.obscuration).toBe('P99');
    const { reportKey, state } = changeObscuration(deps, change({ eventCode: 'P98' }));
    expect(reportKey).toBe('ASL1^DOC-1');
    expect(state?.obscuration).toBe('P98,P99');
    expect(reports.get('ASL1^DOC-1')?.obscuration).toBe('P98,P99');
    expect(logged.filter((line) => line.msg === 'obscuration changed')).toMatchObject([
      { report: 'ASL1^DOC-1', eventCode: 'P99', source: 'FSE', inForce: 'P99' },
      { report: 'ASL1^DOC-1', eventCode: 'P98', source: 'FSE', inForce: 'P98,P99' },
    ]);
    expect(changeObscuration(deps, change({ eventCode: 'P00' })).state?.obscuration).toBe('');
  });

  it('applies a change naming the same regional index id, or none', () => {
    const same = changeObscuration(deps, change({ idDocumentoIlec: 'ILEC-1' }));
    expect(same.state?.obscuration).toBe('P99');
    const none = changeObscuration(deps, change({ idDocumentoIlec: undefined, eventCode: 'P97' }));
    expect(none.state?.obscuration).toBe('P97,P99');
  });

  it('leaves alone a report known by another regional index id', () => {
    const other = changeObscuration(deps, change({ idDocumentoIlec: 'ILEC-2' }));
    expect(other).toEqual({ reportKey: 'ASL1^DOC-1', state: undefined });
    expect(reports.get('ASL1^DOC-1')?.obscuration).toBe('');
    expect(logged.filter((line) => line.msg === 'obscuration changed')).toEqual([]);
  });

  it('answers no state for an unknown report, and records nothing', () => {
    const unknown = changeObscuration(deps, change({ codDocumentoDipartimentale: 'DOC-2' }));
    expect(unknown).toEqual({ reportKey: 'ASL1^DOC-2', state: undefined });
    expect(reports.get('ASL1^DOC-2')).toBeUndefined();
  });

  it('refuses a codCL that names no report', () => {
    expect(() => changeObscuration(deps, change({ codCL: 'ASL1^DOC' }))).toThrow(
      ReportValidationError,
    );
  });
});
