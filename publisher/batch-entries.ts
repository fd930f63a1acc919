import { MAX_BATCH_BYTES, MAX_BATCH_ENTRIES } from './publish-options';
import type { SerialisedDispatch } from './serialise-dispatch';

/**
 * Groups messages, in order, into SendMessageBatch-sized batches: at most ten entries and at most
 * `maxBytes` of bodies each. Every body already fits `MAX_BODY_BYTES`, so one always fits alone.
 */
export function batchEntries(
  entries: readonly SerialisedDispatch[],
  limits: { readonly maxEntries?: number; readonly maxBytes?: number } = {},
): SerialisedDispatch[][] {
  const maxEntries = limits.maxEntries ?? MAX_BATCH_ENTRIES;
  const maxBytes = limits.maxBytes ?? MAX_BATCH_BYTES;
  const batches: SerialisedDispatch[][] = [];
  let current: SerialisedDispatch[] = [];
  let bytes = 0;
  for (const entry of entries) {
    if (current.length > 0 && (current.length >= maxEntries || bytes + entry.bytes > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += entry.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
