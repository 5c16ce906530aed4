import { describe, expect, it } from 'vitest';
import {
  MAX_VALUE_CHARS,
  PN_MAX_CHARS,
  QrQueryError,
  foldName,
  globPattern,
} from '../../../src/index/qr-match.js';
import { planFind, planRetrieve } from '../../../src/index/qr-query.js';
import type { MatchKeys, QrLevel } from '../../../src/index/qr-query.js';

const plan = (keys: MatchKeys, level: QrLevel = 'STUDY') => planFind('STUDY_ROOT', level, keys);

function refusal(fn: () => unknown): QrQueryError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(QrQueryError);
    return error as QrQueryError;
  }
  throw new Error('expected a QrQueryError');
}

describe('foldName', () => {
  it('keeps the alphabetic group, drops trailing empty components, lower-cases beyond ASCII', () => {
    expect(foldName('Müller^Jörg^^^')).toBe('müller^jörg');
    expect(foldName('YAMADA^TAROU=山田^太郎=やまだ^たろう')).toBe('yamada^tarou');
    expect(foldName('^^^^')).toBe('');
    // Decomposed input folds like the composed form stored.
    expect(foldName('Mu\u0308ller')).toBe(foldName('Müller'));
    expect(foldName('ROSSI^MARIO=' + '='.repeat(10_000))).toBe('rossi^mario');
    expect(foldName('BIANCHI' + '^'.repeat(10_000))).toBe('bianchi');
  });

  it('folds Latin-1 text, which it does not normalize, as if it did', () => {
    // Every pair of characters up to U+00FF: what composes lies beyond.
    const differ: string[] = [];
    for (let a = 0; a < 0x100; a++)
      for (let b = 0; b < 0x100; b++) {
        const pair = String.fromCharCode(a, b);
        if (foldName(pair) !== trimmedFold(pair)) differ.push(pair);
      }
    expect(differ).toEqual([]);
  });
});

/** foldName as first written: every value normalized. */
function trimmedFold(value: string): string {
  const alphabetic = value.split('=')[0]!.replace(/[\^ ]+$/, '');
  return alphabetic.normalize('NFC').toLowerCase();
}

describe('globPattern', () => {
  it('makes [ literal and leaves % and _ alone (literal in GLOB)', () => {
    expect(globPattern('A[1]*')).toBe('A[[]1]*');
    expect(globPattern('100%_?')).toBe('100%_?');
  });
});

describe('planFind', () => {
  it('passes every value as a parameter, never in the SQL', () => {
    const marker = "Z'); DROP TABLE x; --";
    const keys = {
      PatientName: `${marker}*`,
      PatientID: marker,
      AccessionNumber: `*${marker}`,
      StudyDescription: marker,
      ModalitiesInStudy: `${marker}\\CT`,
    };
    const { sql, params } = plan(keys);
    expect(sql).not.toContain('DROP');
    expect(params).toContain(marker);
    expect(params).toContain('CT');
    expect(sql.match(/\?/g)).toHaveLength(params.length);
  });

  it('turns ranges into bounds: dates as given, times padded to the second', () => {
    expect(plan({ StudyDate: '20240101-20240131' }).params).toEqual(['20240101', '20240131']);
    expect(plan({ StudyDate: '-20240131' }).params).toEqual(['20240131']);
    expect(plan({ StudyDate: '20240229' }).params).toEqual(['20240229']);
    expect(plan({ StudyTime: '17' }).params).toEqual(['170000', '179999']);
    expect(plan({ StudyTime: '0730-1215' }).params).toEqual(['073000', '121599']);
    expect(plan({ StudyTime: '101500.123456-' }).params).toEqual(['101500']);
    expect(plan({ PatientBirthDate: '19600101-19691231' }).params).toHaveLength(2);
  });

  it('refuses values that are not dates or times', () => {
    for (const StudyDate of ['20230229', '20241301', '2024010', '20240101-2024013', '--'])
      expect(refusal(() => plan({ StudyDate })).key).toBe('StudyDate');
    for (const StudyTime of ['24', '1260', '12:00', '1200-1100', '12*'])
      expect(refusal(() => plan({ StudyTime })).key).toBe('StudyTime');
    expect(refusal(() => plan({ PatientBirthDate: '1960' })).message).toBe(
      'PatientBirthDate (value withheld: patient data): "1960" is not a date (YYYYMMDD)',
    );
  });

  it('treats * and empty values as universal, adding no condition', () => {
    const universal = plan({
      PatientName: '*',
      AccessionNumber: '**',
      StudyDate: '*',
      StudyID: '',
    });
    expect(universal.params).toEqual([]);
    expect(plan({ PatientName: '^^^' }).params).toEqual([]);
  });

  it('uses IN for lists of UIDs and caps list lengths', () => {
    const uids = Array.from({ length: 1000 }, (_, i) => `1.2.${i}`);
    const { sql, params } = plan({ StudyInstanceUID: uids.join('\\') });
    expect(sql).toContain('st.study_uid IN (');
    expect(params).toEqual(uids);
    expect(refusal(() => plan({ StudyInstanceUID: [...uids, '1.3'].join('\\') })).message).toMatch(
      /more than 1000 values/,
    );
    expect(refusal(() => plan({ StudyInstanceUID: '1.2\\\\1.3' })).message).toMatch(/empty value/);
    expect(refusal(() => plan({ AccessionNumber: 'A\\B' })).message).toMatch(/multiple values/);
  });

  it('refuses a value longer than 64 characters, 194 for a person name, naming the key', () => {
    expect(MAX_VALUE_CHARS).toBe(64);
    expect(PN_MAX_CHARS).toBe(3 * 64 + 2);
    const text = `*${'a'.repeat(62)}b`;
    expect(plan({ StudyDescription: text }).params).toEqual([text]);
    expect(refusal(() => plan({ StudyDescription: `${text}c` })).message).toBe(
      `StudyDescription "${text.slice(0, 64)}…": is longer than 64 characters`,
    );
    // Characters, not UTF-16 units: U+20BB7 takes two.
    expect(plan({ AccessionNumber: '\u{20BB7}'.repeat(64) }).params).toHaveLength(1);
    expect(refusal(() => plan({ AccessionNumber: '\u{20BB7}'.repeat(65) })).key).toBe(
      'AccessionNumber',
    );
    // Wild cards count, universal matching too: no VR allows such a value.
    expect(refusal(() => plan({ StudyID: '*'.repeat(65) })).key).toBe('StudyID');

    const name = `${'A'.repeat(64)}=${'B'.repeat(64)}=${'C'.repeat(63)}*`;
    expect(plan({ PatientName: name }).params).toEqual(['a'.repeat(64)]);
    expect(plan({ ReferringPhysicianName: name }).params).toEqual([name]);
    expect(refusal(() => plan({ PatientName: `${name}D` })).message).toBe(
      'PatientName (value withheld: patient data): is longer than 194 characters',
    );
    expect(refusal(() => plan({ ReferringPhysicianName: `${name}D` })).key).toBe(
      'ReferringPhysicianName',
    );
  });

  it("counts a list's values together, except UIDs", () => {
    // Each value of a list is one more pattern over the same stored value.
    const series = (Modality: string) => plan({ StudyInstanceUID: '1.2', Modality }, 'SERIES');
    const modalities = Array.from({ length: 16 }, (_, i) => `*${i}`.padEnd(3, '*'));
    expect(modalities.join('\\')).toHaveLength(63);
    expect(series(modalities.join('\\')).params).toEqual(['1.2', ...modalities]);
    expect(refusal(() => series(`${modalities.join('\\')}\\CT`)).key).toBe('Modality');
    expect(refusal(() => plan({ ModalitiesInStudy: `CT\\${'M'.repeat(62)}` })).message).toMatch(
      /^ModalitiesInStudy ".*": is longer than 64 characters$/,
    );
    // 1000 UIDs of 64 characters.
    const uids = Array.from({ length: 1000 }, (_, i) => `1.${String(i).padStart(62, '9')}`);
    expect(plan({ StudyInstanceUID: uids.join('\\') }).params).toEqual(uids);
  });

  it('answers unique keys first, then the keys asked in their order, SCP keys left out', () => {
    const { columns } = plan(
      {
        QueryRetrieveLevel: 'SERIES',
        SpecificCharacterSet: 'ISO_IR 192',
        RetrieveAETitle: '',
        Modality: '',
        StudyInstanceUID: '1.2.3',
        SeriesDate: '',
      },
      'SERIES',
    );
    expect(columns.map((c) => [c.keyword, c.held])).toEqual([
      ['StudyInstanceUID', true],
      ['SeriesInstanceUID', true],
      ['Modality', true],
      ['SeriesDate', false],
    ]);
  });

  it('refuses levels the model lacks and non-text values', () => {
    expect(refusal(() => planFind('STUDY_ROOT', 'PATIENT', {})).key).toBe('QueryRetrieveLevel');
    expect(refusal(() => planFind('PATIENT_ROOT', 'FRAME' as QrLevel, {})).key).toBe(
      'QueryRetrieveLevel',
    );
    expect(refusal(() => plan({ AccessionNumber: 42 as unknown as string })).message).toMatch(
      /must be text/,
    );
    expect(refusal(() => plan({ SeriesNumber: 'x1' }, 'SERIES')).key).toBe('StudyInstanceUID');
    const series = { StudyInstanceUID: '1.2', SeriesNumber: '1x' };
    expect(refusal(() => plan(series, 'SERIES')).message).toBe(
      'SeriesNumber "1x": is not an integer',
    );
  });
});

describe('planRetrieve', () => {
  it('needs the unique keys: one value above the level, UIDs at it', () => {
    expect(planRetrieve('STUDY_ROOT', 'STUDY', { StudyInstanceUID: '1.2\\1.3' }).params).toEqual([
      '1.2',
      '1.3',
    ]);
    expect(refusal(() => planRetrieve('PATIENT_ROOT', 'PATIENT', { PatientID: 'A\\B' })).key).toBe(
      'PatientID',
    );
    expect(refusal(() => planRetrieve('PATIENT_ROOT', 'PATIENT', { PatientID: 'A*' })).key).toBe(
      'PatientID',
    );
    const series = { StudyInstanceUID: '1.2\\1.3', SeriesInstanceUID: '1.4' };
    expect(refusal(() => planRetrieve('STUDY_ROOT', 'SERIES', series)).message).toBe(
      'StudyInstanceUID "1.2\\\\1.3": a single value is required at SERIES level',
    );
    expect(
      refusal(() =>
        planRetrieve('STUDY_ROOT', 'IMAGE', { StudyInstanceUID: '1.2', SeriesInstanceUID: '1.4' }),
      ).key,
    ).toBe('SOPInstanceUID');
  });
});
