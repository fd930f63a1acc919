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

/** The `p`-th percentile (0-100) of a non-empty list, nearest rank (a value that was measured, never interpolated). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('percentile of an empty list');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be 0-100, got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}
