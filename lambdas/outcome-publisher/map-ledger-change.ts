import { EVENT_NAME, OUTCOME_EVENT_SCHEMA_VERSION, outcomeEventDetailSchema, type OutcomeEventDetail } from '../core/outcome-event';
import { DeliveryFate, LedgerState } from '../core/outcomes';

/** A ledger item as the stream carries it, unmarshalled. */
export type LedgerImage = Readonly<Record<string, unknown>>;

/**
 * Versions of a record that are not fates: a claim is an attempt starting, a release hands an
 * unsent message back to SQS (its retry ends in `sent`, `in-doubt` or `failed`, which are published).
 */
const NOT_PUBLISHED: ReadonlySet<string> = new Set([LedgerState.Claimed, LedgerState.Released]);

/** Fields of a history entry an event may carry; anything else an entry holds stays in the ledger. */
const ENTRY_FIELDS = ['field', 'recordedAt', 'sqsMessageId', 'bounceSubType', 'treatedAsPermanent', 'delayType', 'complaintType'] as const;
const RECORD_FIELDS = ['template', 'claimedAt', 'sentAt'] as const;

export interface LedgerChangeMapping {
  readonly events: OutcomeEventDetail[];
  /** History entries that could not become a valid event (counted by the publisher; the ledger keeps them). */
  readonly unmapped: number;
}

/**
 * The outcome events of one ledger change (a stream record's old and new image): one per history
 * entry the change appended, numbered by its position in the history (the record version), so
 * the same change always yields the same `outcomeId`. Items that are not dispatch records (fan-in
 * counters, the pause flag, registry index items) and claims and releases yield none. Pure.
 */
export function mapLedgerChange(oldImage: LedgerImage | undefined, newImage: LedgerImage | undefined): LedgerChangeMapping {
  if (!newImage || !isDispatchRecord(newImage)) return { events: [], unmapped: 0 };
  const history = newImage.history as unknown[];
  const before = oldImage && Array.isArray(oldImage.history) ? oldImage.history.length : 0;
  const events: OutcomeEventDetail[] = [];
  let unmapped = 0;
  for (let index = before; index < history.length; index++) {
    const entry = history[index];
    const name = entryName(entry);
    if (name !== undefined && NOT_PUBLISHED.has(name)) continue;
    const event = name === undefined ? undefined : toEvent(newImage, entry as Record<string, unknown>, name, index + 1);
    if (event) events.push(event);
    else unmapped++;
  }
  return { events, unmapped };
}

/** Dispatch records (`<dispatchId>`, `rejected#<sqsMessageId>`) hold a state and a history. */
function isDispatchRecord(image: LedgerImage): boolean {
  const pk = image.pk;
  if (typeof pk !== 'string' || typeof image.state !== 'string' || !Array.isArray(image.history)) return false;
  return !pk.includes('#') || pk.startsWith('rejected#');
}

/** A new kind of entry names itself with `event`; SES fates with `fate`; dispatcher states with `state`. */
function entryName(entry: unknown): string | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const { event, fate, state } = entry as Record<string, unknown>;
  const name = [event, fate, state].find((value) => typeof value === 'string');
  return typeof name === 'string' && EVENT_NAME.test(name) ? name : undefined;
}

function toEvent(record: LedgerImage, entry: Record<string, unknown>, name: string, version: number): OutcomeEventDetail | undefined {
  const pk = String(record.pk);
  const detail: Record<string, unknown> = {
    schemaVersion: OUTCOME_EVENT_SCHEMA_VERSION,
    outcomeId: `${pk}#v${version}`,
    version,
    dispatchId: typeof record.dispatchId === 'string' ? record.dispatchId : pk.startsWith('rejected#') ? null : pk,
    memberId: typeof record.memberId === 'string' ? record.memberId : null,
    event: name,
    at: entry.at,
  };
  const reason = reasonOf(name, entry);
  if (reason !== undefined) detail.reason = reason;
  for (const key of RECORD_FIELDS) if (record[key] !== undefined) detail[key] = record[key];
  for (const key of ENTRY_FIELDS) if (entry[key] !== undefined) detail[key] = entry[key];
  // The schema is the filter: a value that is not identifier-like (could hold an address) drops the field or, if required, the event.
  const parsed = outcomeEventDetailSchema.safeParse(detail);
  if (parsed.success) return parsed.data;
  const problems = new Set(parsed.error.issues.map((issue) => String(issue.path[0])));
  const optional = [...problems].every((key) => ![...REQUIRED].includes(key));
  if (!optional) return undefined;
  for (const key of problems) delete detail[key];
  const retried = outcomeEventDetailSchema.safeParse(detail);
  return retried.success ? retried.data : undefined;
}

const REQUIRED = new Set(['schemaVersion', 'outcomeId', 'version', 'dispatchId', 'memberId', 'event', 'at']);

function reasonOf(name: string, entry: Record<string, unknown>): unknown {
  if (name === DeliveryFate.Bounced) return entry.bounceType;
  if (name === DeliveryFate.SesRejected) return entry.rejectKind;
  return entry.reason;
}
