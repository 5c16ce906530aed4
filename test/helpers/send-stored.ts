import { expect } from 'vitest';
import { STORESCP_PROFILE } from './reference-scp.js';
import { groupByTransferSyntax, type SampleFacts } from './samples.js';
import { runTool } from './tools.js';

/** storescu proposes one family of transfer syntaxes per run; this picks the one for a file. */
export const STORESCU_OPTIONS: Readonly<Record<string, string[]>> = {
  '1.2.840.10008.1.2': ['-xi'],
  '1.2.840.10008.1.2.1': ['-xe'],
  '1.2.840.10008.1.2.2': ['-xb'],
  '1.2.840.10008.1.2.1.99': ['-xd'],
  '1.2.840.10008.1.2.4.50': ['-xy'],
  '1.2.840.10008.1.2.4.51': ['-xx'],
  '1.2.840.10008.1.2.4.57': ['-xf', STORESCP_PROFILE, 'Process14'],
  '1.2.840.10008.1.2.4.70': ['-xs'],
  '1.2.840.10008.1.2.4.80': ['-xt'],
  '1.2.840.10008.1.2.4.81': ['-xu'],
  '1.2.840.10008.1.2.4.90': ['-xv'],
  '1.2.840.10008.1.2.4.91': ['-xw'],
  '1.2.840.10008.1.2.5': ['-xr'],
};

/** Send `samples` with DCMTK storescu, each in its own transfer syntax, so each is stored in it. */
export async function sendInOwnSyntax(
  port: number,
  samples: readonly SampleFacts[],
  options: { callingAe?: string; calledAe?: string } = {},
): Promise<void> {
  for (const [ts, group] of groupByTransferSyntax([...samples])) {
    const result = await runTool('storescu', [
      '-aet',
      options.callingAe ?? 'STORESCU',
      '-aec',
      options.calledAe ?? 'FSEBRIDGE',
      ...STORESCU_OPTIONS[ts]!,
      '127.0.0.1',
      String(port),
      ...group.map((sample) => sample.path),
    ]);
    expect(result.code, `${ts}: ${result.stderr}`).toBe(0);
  }
}
