import { describe, expect, it } from 'vitest';
import { recordKeysOf } from '../../../src/dicom/dicomdir-keys.js';
import { buildDicomdir } from '../../../src/dicom/dicomdir.js';
import { encodeFileMeta } from '../../../src/dicom/file-meta.js';
import { element, str as text } from '../../helpers/synthetic-image.js';

/*
 * Instances are stored as received, so the values a DICOMDIR record copies from them may be
 * anything. A value its VR cannot hold is left out of the record; before, one such value in one
 * SR made every PDI package of its report fail to build.
 */

const SR = '1.2.840.10008.5.1.4.1.1.88.22';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
function item(body: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(0xfffe, 0);
  header.writeUInt16LE(0xe000, 2);
  header.writeUInt32LE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** A verified SR whose last verifying observer gives `verifiedAt` as its VerificationDateTime. */
function verifiedSr(verifiedAt: string): Buffer {
  const sop = '2.25.4711';
  return Buffer.concat([
    encodeFileMeta({ sopClassUid: SR, sopInstanceUid: sop, transferSyntaxUid: EXPLICIT_LE }),
    element(0x00080005, 'CS', text('ISO_IR 100')),
    element(0x00080016, 'UI', text(SR, '\0')),
    element(0x00080018, 'UI', text(sop, '\0')),
    element(0x0040a073, 'SQ', item(element(0x0040a030, 'DT', text(verifiedAt)))),
    element(0x0040a493, 'CS', text('VERIFIED')),
  ]);
}

function dicomdirWith(file: Buffer): Buffer {
  return buildDicomdir({
    sopInstanceUid: '2.25.9',
    patients: [
      {
        patientId: 'P',
        studies: [
          {
            studyInstanceUid: '2.25.10',
            series: [
              {
                seriesInstanceUid: '2.25.11',
                instances: [
                  {
                    fileId: ['DICOM', 'S0000001', 'I0000001'],
                    sopClassUid: SR,
                    sopInstanceUid: '2.25.4711',
                    transferSyntaxUid: EXPLICIT_LE,
                    record: recordKeysOf(file, SR),
                  },
                ],
              },
            ],
          },
        ],
      },
    ],
  });
}

const VERIFICATION_DATE_TIME = 0x0040a030;

describe('DICOMDIR record keys of stored instances', () => {
  it('copies a valid VerificationDateTime of a verified SR', () => {
    const keys = recordKeysOf(verifiedSr('20261126093000+0100'), SR)!.keys;
    expect(keys.find(([tag]) => tag === VERIFICATION_DATE_TIME)?.[2]).toBe('20261126093000+0100');
    expect(dicomdirWith(verifiedSr('20261126093000+0100')).length).toBeGreaterThan(0);
  });

  it('leaves out a VerificationDateTime that is not a DT value, and the DICOMDIR is built', () => {
    // 33,000 Latin-1 letters: 66,000 bytes once written as UTF-8, more than an element holds.
    for (const verifiedAt of ['é'.repeat(33_000), 'yesterday']) {
      const file = verifiedSr(verifiedAt);
      expect(recordKeysOf(file, SR)!.keys.some(([tag]) => tag === VERIFICATION_DATE_TIME)).toBe(
        false,
      );
      expect(dicomdirWith(file).length).toBeGreaterThan(0);
    }
  });
});
