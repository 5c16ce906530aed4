import { describe, expect, it } from 'vitest';
import { middleInstance, orderInstances } from '../../../src/preview/series-previews.js';

const numbered = (...numbers: (number | undefined)[]) =>
  numbers.map((instanceNumber, index) => ({ instanceNumber, id: `i${index}` }));

describe('middleInstance', () => {
  it('is undefined for an empty series', () => {
    expect(middleInstance([])).toBeUndefined();
  });

  it('picks the middle by InstanceNumber, whatever the order given', () => {
    expect(middleInstance(numbered(5, 1, 3, 2, 4))?.instanceNumber).toBe(3);
  });

  it('takes the upper middle of an even count', () => {
    expect(middleInstance(numbered(4, 1, 3, 2))?.instanceNumber).toBe(3);
    expect(middleInstance(numbered(7))?.instanceNumber).toBe(7);
  });

  it('keeps the order given when some instance has no InstanceNumber', () => {
    const instances = numbered(9, undefined, 1, 5);
    expect(middleInstance(instances)?.id).toBe('i2');
  });

  it('keeps the given order among equal numbers and does not modify the input', () => {
    const instances = numbered(2, 1, 1, 2);
    expect(orderInstances(instances).map((i) => i.id)).toEqual(['i1', 'i2', 'i0', 'i3']);
    expect(instances.map((i) => i.id)).toEqual(['i0', 'i1', 'i2', 'i3']);
  });

  it('ignores non-finite numbers as missing', () => {
    expect(middleInstance(numbered(3, Number.NaN, 1))?.id).toBe('i1');
  });
});
