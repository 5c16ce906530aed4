/**
 * Padding removed from DICOM values in linear time. A regular expression such as `/[\0 ]+$/`
 * retries from every position of a run of padding that is followed by another character, so a
 * value of 64 KB of spaces ending in one letter costs seconds of CPU and a 1 MB one minutes:
 * values come from peers, so they are trimmed by these loops instead.
 */

/** `value` without the characters of `padding` at its end (DICOM pads with space or NUL). */
export function trimEnd(value: string, padding = ' \0'): string {
  let end = value.length;
  while (end > 0 && padding.includes(value[end - 1]!)) end--;
  return end === value.length ? value : value.slice(0, end);
}

/** `value` without the characters of `padding` at its start. */
export function trimStart(value: string, padding = ' \0'): string {
  let start = 0;
  while (start < value.length && padding.includes(value[start]!)) start++;
  return start === 0 ? value : value.slice(start);
}
