/**
 * The fan-in guard's span: at most `fanInLimit` distinct members' e-mails reach one mailbox in
 * any span of `fanInWindowSeconds` (scenarios/README.md). Not a calendar window: a burst across
 * midnight is one burst, and three new members a day are counted over the last 24 hours.
 *
 * One counter item per mailbox holds, per member, the instant of its latest claim (`seen`) and a
 * `version`. A member is *in the span* at `now` when its latest claim is later than
 * `now - window`. The live members never exceed the limit: a member joins the span only by a
 * claim conditioned on the counter's version (nothing else joined since the snapshot the count
 * was made from), and a member already in the span only moves its own instant forward.
 * Every span of one window ending at an instant `t` holds only members live at `t`, so no span
 * holds more than the limit. Pure: `now` is passed in.
 */

/** The counter of one mailbox as stored (a missing item is `EMPTY_FAN_IN`). */
export interface FanInState {
  /** memberId → epoch milliseconds of its latest claim for this mailbox. */
  readonly seen: Readonly<Record<string, number>>;
  /** Incremented by every claim that adds a member to the span; 0 when the item does not exist. */
  readonly version: number;
}

export const EMPTY_FAN_IN: FanInState = { seen: {}, version: 0 };

/** What the claim transaction must write (and assert) on the mailbox's counter. */
export type FanInClaim =
  /** The member is in the span: move its instant forward, conditioned on it still being in the span. */
  | { readonly kind: 'refresh'; readonly cutoffMs: number; readonly atMs: number }
  /**
   * The member joins the span: conditioned on `version` (nothing joined since the snapshot),
   * bumps it, and drops the members that left the span (keeps the item small).
   */
  | { readonly kind: 'join'; readonly version: number; readonly atMs: number; readonly prune: readonly string[] };

export interface FanInPlan {
  /** Distinct members in the span once this message is counted. */
  readonly count: number;
  readonly allowed: boolean;
  readonly claim: FanInClaim;
}

/** The members in the span ending at `now`. */
export function membersInSpan(state: FanInState, now: Date, windowSeconds: number): string[] {
  const cutoff = now.getTime() - windowSeconds * 1000;
  return Object.entries(state.seen)
    .filter(([, at]) => typeof at === 'number' && at > cutoff)
    .map(([memberId]) => memberId);
}

/** Counts `memberId` into the span ending at `now`, and says what the claim must write. */
export function planFanIn(
  state: FanInState,
  memberId: string,
  now: Date,
  config: { fanInLimit: number; fanInWindowSeconds: number },
): FanInPlan {
  const atMs = now.getTime();
  const cutoffMs = atMs - config.fanInWindowSeconds * 1000;
  const live = membersInSpan(state, now, config.fanInWindowSeconds);
  if (live.includes(memberId))
    return { count: live.length, allowed: live.length <= config.fanInLimit, claim: { kind: 'refresh', cutoffMs, atMs } };
  const prune = Object.keys(state.seen).filter((id) => id !== memberId && !live.includes(id));
  const count = live.length + 1;
  return { count, allowed: count <= config.fanInLimit, claim: { kind: 'join', version: state.version, atMs, prune } };
}

/**
 * The plan's claim as of the instant it is really made (`now`, later than the plan's when the
 * message waited for a send slot or a back-off). The counter must hold the instant of the claim,
 * which the send follows at once: an instant from the plan would let the member leave the span
 * before its e-mail is a window old. A refresh is re-conditioned on the member still being in the
 * span *now*; a join keeps its version, so the members counted at the plan (never fewer than are
 * live now) are what it asserts.
 */
export function claimAt(claim: FanInClaim, now: Date, windowSeconds: number): FanInClaim {
  const atMs = Math.max(claim.atMs, now.getTime());
  return claim.kind === 'refresh' ? { kind: 'refresh', cutoffMs: atMs - windowSeconds * 1000, atMs } : { ...claim, atMs };
}

/**
 * When DynamoDB may delete a mailbox's counter (epoch seconds): one window after its latest
 * claim, when every member in it has left the span. TTL deletes late; readers compare instants.
 */
export function fanInExpiresAt(atMs: number, windowSeconds: number): number {
  return Math.ceil(atMs / 1000) + windowSeconds + 1;
}
