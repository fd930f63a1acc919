/** Median of a non-empty list (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `part / whole`, or 0 when there is nothing to divide by (no message sent, no call made). */
export function perUnit(part: number, whole: number): number {
  return whole > 0 ? part / whole : 0;
}

/** Adds `source` into `target`, key by key. */
export function addCounts(target: Record<string, number>, source: Readonly<Record<string, number>>): Record<string, number> {
  for (const [key, value] of Object.entries(source)) target[key] = (target[key] ?? 0) + value;
  return target;
}
