import { describe, expect, it } from 'vitest';
import { compositeValueType } from '../../../src/dicom/sr-value-type.js';

describe('compositeValueType (TID 2010 rows 6-8)', () => {
  it('is IMAGE for image storage classes, WAVEFORM for waveforms, COMPOSITE otherwise', () => {
    expect(compositeValueType('1.2.840.10008.5.1.4.1.1.2')).toBe('IMAGE'); // CT
    expect(compositeValueType('1.2.840.10008.5.1.4.1.1.7')).toBe('IMAGE'); // Secondary Capture
    expect(compositeValueType('1.2.840.10008.5.1.4.1.1.66.4')).toBe('IMAGE'); // Segmentation
    expect(compositeValueType('1.2.840.10008.5.1.4.1.1.9.1.1')).toBe('WAVEFORM'); // 12-lead ECG
    expect(compositeValueType('1.2.840.10008.5.1.4.1.1.9.4.1')).toBe('WAVEFORM'); // voice audio
    expect(compositeValueType('1.2.840.10008.5.1.4.1.1.88.33')).toBe('COMPOSITE'); // Comprehensive SR
    expect(compositeValueType('1.2.840.10008.5.1.4.1.1.104.1')).toBe('COMPOSITE'); // Encapsulated PDF
    expect(compositeValueType('1.2.840.10008.5.1.4.1.1.11.1')).toBe('COMPOSITE'); // GSPS
    expect(compositeValueType('1.2.840.10008.5.1.4.1.1.88.59')).toBe('COMPOSITE'); // Key Object Selection
    expect(compositeValueType('1.2.840.10008.5.1.4.1.1.4.2')).toBe('COMPOSITE'); // MR Spectroscopy
    expect(compositeValueType('1.3.12.2.1107.5.9.1')).toBe('COMPOSITE'); // a private class
  });
});
