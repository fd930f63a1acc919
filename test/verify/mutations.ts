/**
 * Proof that the harness finds real bugs (issue 13, item 4): each hole of issue 12, switched
 * back on by a text patch of the real source (the old behaviour restored), with a configuration
 * in which the harness must catch it. A patch that no longer applies fails loudly, so a fix that
 * moves on forces its mutation to be rewritten instead of silently testing nothing.
 */
import type { SourcePatch } from './load-system';
import { config, RESUME_RACES_BREAKER } from './configs';
import { SesAnswer } from './model/ses-model';
import type { WorldConfig } from './world';

export interface Mutation {
  /** The finding of issue 12 it re-opens. */
  readonly hole: string;
  readonly patches: readonly SourcePatch[];
  /** Small enough to enumerate exhaustively. */
  readonly config: WorldConfig;
  /** How to look: every ordering (default), or 600 seeded random schedules (too many orderings). */
  readonly search?: 'exhaustive' | 'random';
  /** The invariants that may catch it (the first one the schedule breaks). */
  readonly caughtBy: readonly string[];
}

const d1 = { dispatchId: 'd1', memberId: 'M1', to: 'pat@example.org' };

/** The claim attempt as it is (claimOnce): bounded pacing, the pause flag, the time left, then the claim. */
const CLAIM_LOOP = `  if (!(await pacer.acquire(spareMs(ctx)))) return notClaimed(RetryReason.NoTimeLeft);
  // The flag again, before each claim (a cached read at most a second old): a pause set
  // anywhere stops this invocation within a second, not at its next batch (issue 12.8).
  if (ctx.batch.paused || (await ctx.pauseSwitch.read()).paused) {
    ctx.batch.paused = true;
    return notClaimed(RetryReason.Paused);
  }
  if (spareMs(ctx) < 0) return notClaimed(RetryReason.NoTimeLeft);
  const claim = claimRequest(p, decision, delivery, ctx);
  const [result] = await ctx.ledger.claimAll([claim]);
  if (result.claimed) return { kind: 'claimed', claimToken: claim.claimToken };`;

/**
 * Pacing moved between the claim's answer and the SendEmail request (the caller sends on a
 * `claimed` attempt at once); `timeCheck` keeps the check before the claim.
 */
const paceAfterClaim = (timeCheck: boolean): SourcePatch => ({
  file: 'lambdas/dispatcher/dispatch-message.ts',
  find: CLAIM_LOOP,
  replace: `  if (ctx.batch.paused || (await ctx.pauseSwitch.read()).paused) {
    ctx.batch.paused = true;
    return notClaimed(RetryReason.Paused);
  }
  ${timeCheck ? 'if (spareMs(ctx) < 0) return notClaimed(RetryReason.NoTimeLeft);' : 'void spareMs;'}
  const claim = claimRequest(p, decision, delivery, ctx);
  const [result] = await ctx.ledger.claimAll([claim]);
  if (result.claimed) {
    await pacer.acquire();
    return { kind: 'claimed', claimToken: claim.claimToken };
  }`,
});

/** 12.1 undone: pacing between the claim's answer and the SendEmail request again. */
const PACE_AFTER_CLAIM = paceAfterClaim(true);
/** 12.6 undone: nothing looks at the time left, and the (unbounded) pacing wait follows the claim. */
const PACE_AFTER_CLAIM_UNTIMED = paceAfterClaim(false);

const d2 = { dispatchId: 'd2', memberId: 'M2', to: 'sam@example.org' };

export const MUTATIONS: readonly Mutation[] = [
  {
    hole: '12.1 the SES rate pacing waits between the claim and the send',
    patches: [PACE_AFTER_CLAIM],
    config: config('two messages in one environment at 1 send/s, member M2 closed at some step', {
      messages: [d1, d2],
      maxSendsPerSecond: 1,
      injections: [{ kind: 'registry-write', label: 'M2 closed', memberId: 'M2', set: { status: 'closed' } }],
    }),
    caughtBy: ['a-recipient-allowed-at-claim'],
  },
  {
    hole: '12.6 a Lambda timeout during pacing strands a claimed, never-sent message in-doubt',
    patches: [PACE_AFTER_CLAIM_UNTIMED],
    // 12 s is just over the 11 s attempt budget: the real code sends d1 and hands d2 back
    // unclaimed (its slot is 20 s away); the mutant claims d2 and times out waiting for the slot.
    config: config('two messages in one batch at 0.05 send/s, function timeout 12 s', {
      messages: [d1, d2],
      batchSize: 2,
      maxSendsPerSecond: 0.05,
      functionTimeoutSeconds: 12,
      claimLeaseSeconds: 24,
      visibilityTimeoutSeconds: 72,
    }),
    caughtBy: ['e-in-doubt-explained'],
  },
  {
    hole: '12.7 a duplicate delivery with a higher receive count marks a live claim in-doubt',
    patches: [
      {
        file: 'lambdas/core/decision.ts',
        find: 'function decideFromLedger({ snapshot, config, now }: DecisionInput)',
        replace: 'function decideFromLedger({ snapshot, delivery, config, now }: DecisionInput)',
      },
      {
        file: 'lambdas/core/decision.ts',
        find: 'return isAbandoned(record, config.claimLeaseSeconds, now)',
        replace:
          'return (record.claimMessageId === delivery.sqsMessageId && (record.claimReceiveCount ?? 0) < delivery.receiveCount) || isAbandoned(record, config.claimLeaseSeconds, now)',
      },
    ],
    config: config('an AWS-style duplicate while the first copy sends, SES accepts or throttles', {
      messages: [d1],
      duplicates: 1,
      environments: 2,
      sesAnswers: [SesAnswer.Accepted, SesAnswer.Throttled],
      maxSteps: 40,
    }),
    search: 'random',
    caughtBy: ['e-in-doubt-explained'],
  },
  {
    hole: '12.4 a 5xx from SES is treated as a refusal',
    patches: [
      {
        file: 'lambdas/adapters/sesv2-mail-sender.ts',
        find: "const clientError = status !== undefined && status >= 400 && status < 500 && name !== 'Unknown';",
        replace: 'const clientError = status !== undefined && status >= 400;',
      },
    ],
    config: config('5xx after SES accepted', { messages: [d1], sesAnswers: [SesAnswer.Accepted, SesAnswer.ServerErrorAccepted] }),
    caughtBy: ['b-at-most-once', 'a-recipient-allowed-at-claim'],
  },
  {
    hole: '12.2a the fan-in guard counts a fixed calendar window, not a span',
    patches: [
      {
        file: 'lambdas/core/fan-in.ts',
        find: 'const cutoff = now.getTime() - windowSeconds * 1000;',
        replace: 'const cutoff = Math.floor(now.getTime() / (windowSeconds * 1000)) * windowSeconds * 1000 - 1;',
      },
      {
        file: 'lambdas/core/fan-in.ts',
        find: 'const cutoffMs = atMs - config.fanInWindowSeconds * 1000;',
        replace: 'const cutoffMs = Math.floor(atMs / (config.fanInWindowSeconds * 1000)) * config.fanInWindowSeconds * 1000 - 1;',
      },
    ],
    config: config('two members of one mailbox across a window boundary, limit 1', {
      members: [
        { memberId: 'M1', email: 'pat@example.org' },
        { memberId: 'M2', email: 'pat@example.org' },
      ],
      messages: [d1, { dispatchId: 'd2', memberId: 'M2', to: 'pat@example.org' }],
      fanInLimit: 1,
      injections: [{ kind: 'window-jump' }],
    }),
    caughtBy: ['c-fan-in-span'],
  },
  {
    hole: '12.2b sub-addresses of one mailbox are counted apart',
    patches: [
      {
        file: 'lambdas/dispatcher/dispatch-message.ts',
        find: 'const mailboxHash = hashAddress(mailboxOf(message.to), ctx.hashKey);',
        replace: 'const mailboxHash = hashAddress(message.to, ctx.hashKey); void mailboxOf;',
      },
    ],
    config: config('two members on pat+1@ and pat+2@, limit 1', {
      members: [
        { memberId: 'M1', email: 'pat+1@example.org' },
        { memberId: 'M2', email: 'pat+2@example.org' },
      ],
      messages: [
        { dispatchId: 'd1', memberId: 'M1', to: 'pat+1@example.org' },
        { dispatchId: 'd2', memberId: 'M2', to: 'pat+2@example.org' },
      ],
      fanInLimit: 1,
    }),
    caughtBy: ['c-fan-in-span'],
  },
  {
    hole: '12.9 the unconditional resume: it clears the flag whatever version it read, and does not undo a pause that arrived during it',
    patches: [
      {
        file: 'cli/src/ops/resume.ts',
        find: "if ((await target.pauseSwitch.resume(resumedBy, request.now, { version })) === 'changed') {",
        replace: "if ((await target.pauseSwitch.resume(resumedBy, request.now)) === 'changed') {",
      },
      {
        file: 'cli/src/ops/resume.ts',
        find: 'const after = await target.pauseSwitch.read();',
        replace: 'const after = { paused: false, cause: undefined };',
      },
    ],
    config: RESUME_RACES_BREAKER,
    search: 'random',
    caughtBy: ['f-resume-keeps-new-pause'],
  },
];
