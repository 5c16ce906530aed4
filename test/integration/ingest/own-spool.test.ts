import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Status } from '../../../src/dimse/status.js';
import { openIngestRig, storeSynthetic, type IngestRig } from '../../helpers/ingest-rig.js';
import { spoolFilesWithData } from '../../helpers/process-data.js';

/*
 * Ingest has a spool area of its own in the store. Its start-up settles and empties that area
 * and its journal, and nothing that another user of the store (package building) is writing
 * in its own area at the time.
 */

let rig: IngestRig | undefined;

afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

describe("ingest's start-up and the spool", () => {
  it('empties its own area and leaves a package being written in its area alone', async () => {
    rig = await openIngestRig();
    const packages = await rig.store.openSpoolArea('packages');
    const building = packages.createSpool();
    // More than one batch: part of it is in the spool file already.
    const begun = Buffer.alloc(300_000, 'PK');
    building.write(begun);
    // What a crash of ingest left: an instance in flight, and an earlier version's spool file.
    writeFileSync(join(rig.spoolDir, 'ingest', 'in-flight.part'), 'half an instance');
    writeFileSync(join(rig.spoolDir, 'earlier-version.part'), 'half an instance');

    const ingest = await rig.restart();

    expect(spoolFilesWithData(rig.spoolDir)).toEqual([
      expect.stringMatching(/^packages\/[^/]+\.part$/),
    ]);
    const end = Buffer.from('and its end');
    building.write(end);
    await building.commit('packages/p.zip');
    expect((await rig.store.readBuffer('packages/p.zip')).equals(Buffer.concat([begun, end]))).toBe(
      true,
    );
    await packages.close();
    // Ingest takes instances into its own area.
    const options = { study: 31, series: 1, instance: 1, rows: 8, columns: 8 };
    expect(await storeSynthetic(ingest, options)).toEqual({ status: Status.Success });
    expect(readdirSync(join(rig.spoolDir, 'packages'))).toEqual([]);
  });
});
