/**
 * Which instance of a series stands for it in a preview: the middle one.
 */

/** What the choice needs of an instance; anything else the caller carries along. */
export interface SeriesMember {
  /** InstanceNumber (0020,0013), when the instance has a valid one. */
  instanceNumber?: number | undefined;
}

/**
 * The middle instance of a series: instances are ordered by InstanceNumber when every one has
 * a number (equal numbers keep their given order), otherwise kept in the order given (a
 * partial numbering says nothing reliable about where the unnumbered ones belong), and the one
 * at index ⌊n/2⌋ is returned — the upper of the two middles for an even count, as for frames
 * in `renderPreview`. The input is not modified.
 *
 * @returns the chosen instance, or `undefined` for an empty series.
 */
export function middleInstance<T extends SeriesMember>(instances: readonly T[]): T | undefined {
  if (instances.length === 0) return undefined;
  return orderInstances(instances)[Math.floor(instances.length / 2)];
}

/**
 * The instances in display order: by InstanceNumber (stable) when all have a finite number,
 * else as given.
 */
export function orderInstances<T extends SeriesMember>(instances: readonly T[]): T[] {
  const numbered = instances.every(
    (instance) =>
      typeof instance.instanceNumber === 'number' && Number.isFinite(instance.instanceNumber),
  );
  if (!numbered) return [...instances];
  return [...instances].sort((a, b) => (a.instanceNumber as number) - (b.instanceNumber as number));
}
