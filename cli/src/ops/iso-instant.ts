/** A time the operator typed, read as one instant, or why it is refused. */
export type InstantParse = { readonly ok: true; readonly date: Date } | { readonly ok: false; readonly why: string };

// A date alone, or a date-time with minutes (seconds and fraction optional) and anything after it (the offset, checked below).
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(.*))?$/;
const OFFSET = /^(?:Z|[+-](\d{2}):?(\d{2}))$/i;

/**
 * Reads an ISO 8601 date (`2026-02-03`, midnight UTC) or date-time with an offset
 * (`2026-02-03T09:00:00Z`, `…+01:00`) as one instant, the same on every machine. A date that is not
 * in the calendar (`2026-02-30`) is refused, not rolled over; a date-time without an offset is
 * refused rather than read in the machine's zone: for a breach-notification list the window must
 * never shift without a word.
 */
export function parseIsoInstant(value: string): InstantParse {
  const text = value.trim();
  const match = ISO.exec(text);
  if (!match) return { ok: false, why: `is not ISO 8601 (a date 2026-02-03, or a date-time with an offset 2026-02-03T09:00:00Z)` };
  const [, y, mo, d, h, mi, s, fraction, rest] = match;
  const [year, month, day] = [Number(y), Number(mo), Number(d)];
  const midnight = new Date(Date.UTC(year, month - 1, day));
  if (midnight.getUTCFullYear() !== year || midnight.getUTCMonth() !== month - 1 || midnight.getUTCDate() !== day) {
    return { ok: false, why: `is not a date in the calendar` };
  }
  if (h === undefined) return { ok: true, date: midnight };
  const [hours, minutes, seconds] = [Number(h), Number(mi), Number(s ?? 0)];
  if (hours > 23 || minutes > 59 || seconds > 59) return { ok: false, why: 'is not a time of day (00:00:00 to 23:59:59)' };
  if (rest === '') return { ok: false, why: 'has no offset: add Z for UTC (2026-02-03T09:00:00Z) or the zone offset (+01:00)' };
  const offset = OFFSET.exec(rest);
  if (!offset || Number(offset[1] ?? 0) > 23 || Number(offset[2] ?? 0) > 59)
    return { ok: false, why: `is not a valid offset (${rest}): use Z or ±HH:MM` };
  const sign = rest.startsWith('-') ? -1 : 1;
  const offsetMinutes = offset[1] === undefined ? 0 : sign * (Number(offset[1]) * 60 + Number(offset[2]));
  const millis = fraction ? Math.floor(Number(`0.${fraction}`) * 1000) : 0;
  return { ok: true, date: new Date(Date.UTC(year, month - 1, day, hours, minutes, seconds, millis) - offsetMinutes * 60_000) };
}
