import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFileMeta } from '../../../src/dicom/file-meta.js';
import { CommandField } from '../../../src/dimse/command.js';
import { encodePDataHeader } from '../../../src/dimse/pdu.js';
import { disposeBridge, startBridge, type TestBridge } from '../../helpers/bridge.js';
import {
  connectClient,
  echoStatus,
  expectNothingStored,
  waitForLog,
} from '../../helpers/dimse-checks.js';
import { SAMPLES_DIR } from '../../helpers/samples.js';
import { waitFor } from '../../helpers/tools.js';

let bridge: TestBridge | undefined;

afterEach(async () => {
  await disposeBridge(bridge);
  bridge = undefined;
});

describe('idle timeout', () => {
  it('aborts an established association that stays silent', async () => {
    bridge = await startBridge({ dicom: { idleTimeoutMs: 300 } });
    const client = await connectClient(bridge);
    expect(await client.echo()).toBe(0);
    await waitFor(
      () => client.association.phase === 'closed',
      10_000,
      'the bridge to end the idle association',
    );
    const closed = await waitForLog(
      bridge,
      (line) => line.msg === 'association closed',
      'association closed',
    );
    expect(closed.reason).toBe('timeout');
    expect(await echoStatus(bridge)).toBe(0);
  });

  it('aborts a peer that stalls in the middle of a dataset and keeps nothing', async () => {
    bridge = await startBridge({ dicom: { idleTimeoutMs: 300 } });
    const file = readFileSync(join(SAMPLES_DIR, 'single', 'CT_small.dcm'));
    const meta = parseFileMeta(file);
    const client = await connectClient(bridge, {
      contexts: [{ abstractSyntax: meta.sopClassUid, transferSyntaxes: [meta.transferSyntaxUid] }],
    });
    const context = client.findContext(meta.sopClassUid)!;
    await client.send(context.id, {
      commandField: CommandField.CStoreRq,
      messageId: client.nextMessageId(),
      priority: 0,
      affectedSopClassUid: meta.sopClassUid,
      affectedSopInstanceUid: meta.sopInstanceUid,
      hasDataset: true,
    });
    // Half the dataset in a fragment that is not the last one, then silence.
    const half = file.subarray(meta.datasetOffset, meta.datasetOffset + 4000);
    client.association.socket.write(encodePDataHeader(context.id, false, false, half.length));
    client.association.socket.write(half);
    await waitFor(() => client.association.phase === 'closed', 10_000, 'the bridge to abort');
    await expectNothingStored(bridge);
    expect(await echoStatus(bridge)).toBe(0);
  });
});
