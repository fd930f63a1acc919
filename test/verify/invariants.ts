/**
 * The invariants, by name (docs/decisions.md, "Verification harness"). (a), (b), (c) and the
 * first half of (f) are checked at the event that could break them (an SES request or acceptance,
 * a claim commit: see world.ts); the state invariants below are checked after every step.
 *
 * - a-recipient-allowed-at-claim: every e-mail SES accepted went to an address its member's entry
 *   allowed when its claim committed, and the dispatching task awaited nothing but the SES request
 *   between the claim's answer and the send.
 * - b-at-most-once: at most one SES acceptance per dispatchId, plus one per operator release.
 * - c-fan-in-span: per mailbox (lower-cased, +tag dropped), distinct members accepted within any
 *   span of fanInWindowSeconds ≤ fanInLimit.
 * - d-nothing-vanishes: every published message is in the queue, in the DLQ, or has a ledger
 *   record with a terminal state (or `released` by an operator, 12.5).
 * - e-in-doubt-explained: a message SES never accepted ends in-doubt only through an ambiguous SES
 *   answer or a crash/timeout at the SES call itself (its claim transaction or SES request in
 *   flight, or after the SES answer), never through a race between two copies.
 * - f-pause-stops-claims: once the pause flag is set, no claim commits more than ~1 s later until
 *   a resume; f-resume-keeps-new-pause: a resume never leaves the flag clear or the mapping
 *   enabled while a pause that arrived during it (after the flag read its checks are based on) stands.
 */
import type { World } from './world';
import { LEDGER } from './world';

export interface Violation {
  readonly invariant: string;
  readonly message: string;
  readonly details: readonly string[];
  readonly step: number;
}

export const INVARIANTS = [
  'a-recipient-allowed-at-claim',
  'b-at-most-once',
  'c-fan-in-span',
  'd-nothing-vanishes',
  'e-in-doubt-explained',
  'f-pause-stops-claims',
  'f-resume-keeps-new-pause',
] as const;

/**
 * Ledger states that account for a message that left the queue. `released` is an operator's
 * recorded decision on an in-doubt record (12.5: releasedBy, ticket, history): the message is
 * the operator's to re-publish, not lost.
 */
const TERMINAL = new Set(['sent', 'blocked', 'rejected', 'in-doubt', 'failed', 'released']);

/** Checks the state invariants; returns how many checks it made. */
export function checkAfterStep(world: World, final = false): number {
  let checks = 3; // (a), (b), (c) are checked at their events; counted once per step.
  const ledger = new Map<string, { state?: string; claimToken?: string }>();
  for (const item of world.dynamo.peekAll(LEDGER)) {
    ledger.set(item.pk?.S ?? '', { state: item.state?.S, claimToken: item.claimToken?.S });
  }

  // (d) nothing vanishes.
  for (const m of world.published) {
    checks++;
    if (!m.deleted) continue;
    let dispatchId: string | undefined;
    try {
      dispatchId = JSON.parse(m.body).dispatchId;
    } catch {
      dispatchId = undefined;
    }
    const record = dispatchId === undefined ? undefined : ledger.get(dispatchId);
    const inDlq = world.sqs.messages.some((x) => x.queue === 'dlq' && !x.deleted && x.body === m.body);
    if (inDlq) continue;
    if (!record || !TERMINAL.has(String(record.state))) {
      world.violate(
        'd-nothing-vanishes',
        `${m.messageId} (${dispatchId}) was deleted from the queue, but the ledger holds ${record ? `state ${record.state}` : 'no record'}`,
        ['it is not in the DLQ either: nothing will ever send it or say what became of it'],
      );
      return checks;
    }
  }

  // (e) a never-accepted message ends in-doubt only for an ambiguous answer or a crash at the send.
  for (const r of ledger.values()) {
    if (r.state !== 'in-doubt') continue;
    checks++;
    const token = String(r.claimToken ?? '');
    const claim = world.claims.get(token);
    if (!claim) continue;
    const accepted = world.acceptances.some((a) => a.claimToken === token);
    if (accepted) continue;
    const claimant = world.actors.find((a) => a.id === claim.actorId);
    const stillLive = claimant && claimant.alive && !claimant.done;
    if (stillLive && !final) continue;
    if (claim.explained.length > 0) continue;
    const how = claimant?.alive
      ? `${claim.actorId} was alive (a race between two copies)`
      : `${claim.actorId} ${claimant?.death} while awaiting "${lastAwait(claimant)}"`;
    world.violate(
      'e-in-doubt-explained',
      `${claim.dispatchId} is in-doubt, SES never accepted it, and no ambiguous answer explains it: ${how}`,
      [
        `claim ${token} committed at step ${claim.step} by ${claim.actorId}; SES request ${claim.sesIssued ? 'was' : 'was never'} made for it`,
      ],
    );
    return checks;
  }

  // (f) second half: a pause that landed during a resume stands when both are done.
  for (const resume of world.resumes) {
    checks++;
    const actor = resume.actor;
    if (!actor.done) continue;
    // "During" it: after the read of the flag its checks (and its conditional clear) are based on;
    // a pause before that read is one the resume saw, and clearing it is what a resume is for.
    const started = actor.history.find((h) => h.label.startsWith('GetItem pause flag'))?.step;
    const ended = actor.history[actor.history.length - 1]?.step;
    if (started === undefined || ended === undefined) continue;
    const during = world.pauseWrites.filter((p) => p.step > started && p.step <= ended && p.by !== actor.id);
    if (during.length === 0) continue;
    const pausers = world.actors.filter((a) => during.some((p) => p.by === a.id));
    if (pausers.some((a) => a.alive && !a.done) && !final) continue;
    if (world.mapping.inTransition && !final) continue;
    const flagSet = world.pausedSince !== undefined;
    const mappingOn = world.mapping.state === 'Enabled' || world.mapping.state === 'Enabling';
    if (!flagSet || mappingOn) {
      world.violate(
        'f-resume-keeps-new-pause',
        `a pause by ${during.map((p) => p.by).join(', ')} landed during ${actor.id}'s resume, yet afterwards the flag is ${flagSet ? 'set' : 'CLEAR'} and the mapping ${world.mapping.state}`,
        [],
      );
      return checks;
    }
  }
  return checks;
}

function lastAwait(actor: { history: readonly { label: string }[] } | undefined): string {
  return actor?.history[actor.history.length - 1]?.label ?? '(nothing)';
}
