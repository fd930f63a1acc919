/**
 * The one suppression rule. The decision (`matchRecipient`), the claim's member ConditionCheck
 * (built from `SUPPRESSION_RULE` in `adapters/suppression-condition.ts`) and the in-memory port
 * all read it from here, so they cannot disagree about a member item (a conformance test runs
 * the same items through the decision and a real claim on DynamoDB Local).
 *
 * Two facts suppress, each expressible as a DynamoDB condition (no trim or lower-case there):
 * - per (member, address): the member item's `suppressions` map holds an entry under the keyed
 *   hash of the address (`hashAddress` of the normalised address), `{ reason, at }`;
 * - the legacy member-wide `suppressed` flag: it fails closed, so any value other than absent,
 *   `null`, `false` or the strings below suppresses (a raw write of `' true'`, `'yes'` or `1`
 *   blocks, never sends).
 */
import { BlockReason } from './outcomes';

/** Why an address of a member is suppressed (the `reason` of a `suppressions` entry). */
export const SuppressionReason = {
  Bounce: 'bounce',
  Complaint: 'complaint',
  /** The recipient followed the "not for me" link. */
  ReportedNotMine: 'reported-not-mine',
} as const;
export type SuppressionReason = (typeof SuppressionReason)[keyof typeof SuppressionReason];

/** One entry of the member's `suppressions` map. */
export interface SuppressionEntry {
  readonly reason: SuppressionReason | string;
  /** ISO-8601: the first time this address was suppressed. */
  readonly at: string;
}

/** The rule as data: the decision evaluates it in code, the claim turns it into a condition. */
export const SUPPRESSION_RULE = {
  perAddress: { attribute: 'suppressions' },
  legacyFlag: {
    attribute: 'suppressed',
    /** The only values (besides absent and NULL) that do not suppress. */
    notSuppressing: [false, 'false', 'False', 'FALSE'],
  },
} as const;

/** The block reason for a suppressed address: `reported-not-mine` keeps its own name. */
export function blockReasonOf(entry: unknown): BlockReason {
  const reason = entry !== null && typeof entry === 'object' ? (entry as { reason?: unknown }).reason : undefined;
  return reason === SuppressionReason.ReportedNotMine ? BlockReason.ReportedNotMine : BlockReason.Suppressed;
}

/** Does the legacy member-wide flag suppress? Fails closed: only absent, null and "false" values let mail through. */
export function isSuppressed(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  return !(SUPPRESSION_RULE.legacyFlag.notSuppressing as readonly unknown[]).includes(value);
}

/**
 * Why this member item blocks mail to the address with hash `toHash`, or undefined when it does
 * not. `suppressions` counts only as a map (a DynamoDB document path into anything else does not
 * exist); any value under the key, even NULL, is an entry.
 */
export function suppressionOf(
  member: { readonly suppressed?: unknown; readonly suppressions?: unknown },
  toHash: string,
): BlockReason | undefined {
  const map = member.suppressions;
  if (map !== null && typeof map === 'object' && !Array.isArray(map) && !(map instanceof Set) && Object.hasOwn(map, toHash)) {
    return blockReasonOf((map as Record<string, unknown>)[toHash]);
  }
  return isSuppressed(member.suppressed) ? BlockReason.Suppressed : undefined;
}
