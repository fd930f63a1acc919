/**
 * The configurations the harness explores. Small ones are enumerated exhaustively; the others
 * are sampled by randomised schedules. Model time starts 2 s before a fan-in window boundary so
 * a clock jump or a slow schedule crosses it.
 */
import { hashAddress } from '../../lambdas/core/address';
import { ALL_SES_ANSWERS, SesAnswer } from './model/ses-model';
import { HASH_KEY, type WorldConfig } from './world';

const WINDOW = 60;
/** 2 s before a window boundary (a multiple of WINDOW seconds). */
const START = Date.UTC(2000, 7, 2, 9, 0, 0) - 2000;

export const BASE: WorldConfig = {
  name: 'base',
  members: [
    { memberId: 'M1', email: 'pat@example.org' },
    { memberId: 'M2', email: 'sam@example.org' },
  ],
  messages: [{ dispatchId: 'd1', memberId: 'M1', to: 'pat@example.org' }],
  environments: 1,
  batchSize: 1,
  fanInLimit: 3,
  fanInWindowSeconds: WINDOW,
  claimLeaseSeconds: 60,
  maxReceiveCount: 3,
  visibilityTimeoutSeconds: 180,
  functionTimeoutSeconds: 30,
  maxSendsPerSecond: 0,
  startAt: START,
  sesAnswers: [SesAnswer.Accepted],
  storeFaults: [],
  storeFaultBudget: 0,
  crashes: 0,
  duplicates: 0,
  injections: [],
  sendEvents: false,
  maxSteps: 120,
};

export function config(name: string, overrides: Partial<WorldConfig>): WorldConfig {
  return { ...BASE, ...overrides, name };
}

/** SES answers the configurations use: every one (refusals retry with a fresh claim since 12.1). */
const SES_ANSWERS = ALL_SES_ANSWERS;

const d1 = { dispatchId: 'd1', memberId: 'M1', to: 'pat@example.org' };
const d2 = { dispatchId: 'd2', memberId: 'M2', to: 'sam@example.org' };

/**
 * An operator's resume racing the breaker, the mapping's transitions taking any time up to the
 * model's bound. Found by the harness (issue 13): the resume's "disable again" gave up after ~6 s
 * of in-use answers while the mapping was still Enabling, leaving it enabled under a set flag.
 */
export const RESUME_RACES_BREAKER = config('an operator resume racing the breaker, the mapping slow in its transitions', {
  messages: [],
  injections: [{ kind: 'operator-resume' }, { kind: 'breaker-alarm' }],
});

/** Small configurations enumerated exhaustively in `npm test` (every ordering of every choice). */
export const EXHAUSTIVE: readonly WorldConfig[] = [
  config('two deliveries of one dispatchId (AWS-style duplicate while in flight)', { messages: [d1], duplicates: 1, environments: 2 }),
  config('one registry write (address change) racing one message', {
    messages: [d1],
    injections: [{ kind: 'registry-write', label: 'M1 changes address', memberId: 'M1', set: { email: 'pat.new@example.org' } }],
  }),
  config('one registry write (member closed) racing one message', {
    messages: [d1],
    injections: [{ kind: 'registry-write', label: 'M1 closed', memberId: 'M1', set: { status: 'closed' } }],
  }),
  // Refusals retry with fresh claims and back-off sleeps: with a crash point that is too many orderings for npm test.
  config('one crash point, every SES answer but the refusals', {
    messages: [d1],
    crashes: 1,
    sesAnswers: SES_ANSWERS.filter((a) => ![SesAnswer.Throttled, SesAnswer.Refused, SesAnswer.NotConnected].includes(a as never)),
  }),
  config('one pause (the breaker trips, the mapping disables at once) racing one message', {
    messages: [d1],
    injections: [{ kind: 'breaker-alarm' }],
    instantMapping: true,
  }),
];

/** Larger exhaustive configurations, in `npm run verify` only. */
export const EXHAUSTIVE_LONG: readonly WorldConfig[] = [
  config('two deliveries of one dispatchId, SES accepts or answers 5xx', {
    messages: [d1],
    duplicates: 1,
    environments: 2,
    sesAnswers: [SesAnswer.Accepted, SesAnswer.ServerErrorNotAccepted],
  }),
  config('one dispatchId published twice, two environments', { messages: [{ ...d1, copies: 2 }], environments: 2 }),
  config('one operator pause (flag, then mapping) racing one message', { messages: [d1], injections: [{ kind: 'operator-pause' }] }),
  config('one pause (the breaker trips, the mapping goes through Disabling) racing one message', {
    messages: [d1],
    injections: [{ kind: 'breaker-alarm' }],
  }),
];

/**
 * The registry's two write paths (issue 13's repertoire): through the guard (which refuses a second
 * member on a mailbox at limit 1 and must hold against the raw writes racing it), and raw writes
 * pointing two members at one mailbox (one by a sub-address) that only the dispatcher's fan-in guard
 * stops; a proxy removed while its mail is under way; an operator releasing an in-doubt dispatch.
 */
export const REGISTRY_PATHS = config(
  'the registry guard vs raw writes pointing members at one mailbox, a proxy removed, an in-doubt release',
  {
    members: [
      { memberId: 'M1', email: 'pat@example.org', proxies: ['kim@example.org'] },
      { memberId: 'M2', email: 'sam@example.org' },
      { memberId: 'M3', email: 'lee@example.org' },
    ],
    messages: [
      { dispatchId: 'd1', memberId: 'M1', to: 'pat@example.org' },
      { dispatchId: 'd2', memberId: 'M2', to: 'sam@example.org' },
      { dispatchId: 'd3', memberId: 'M3', to: 'lee@example.org' },
      { dispatchId: 'd4', memberId: 'M1', to: 'kim@example.org' },
    ],
    environments: 2,
    fanInLimit: 1,
    registryIndex: true,
    sesAnswers: [SesAnswer.Accepted, SesAnswer.TimeoutNotAccepted, SesAnswer.ServerErrorAccepted],
    injections: [
      {
        kind: 'guarded-registry-write',
        label: 'M2 moves to pat@example.org (refused: the mailbox is at its limit)',
        row: { memberId: 'M2', email: 'pat@example.org', status: 'active' },
      },
      {
        kind: 'guarded-registry-write',
        label: 'M3 moves to lee.new@example.org',
        row: { memberId: 'M3', email: 'lee.new@example.org', status: 'active' },
      },
      { kind: 'registry-write', label: 'M2 pointed at pat@example.org', memberId: 'M2', set: { email: 'pat@example.org' } },
      { kind: 'registry-write', label: 'M3 pointed at Pat+x@example.org', memberId: 'M3', set: { email: 'Pat+x@example.org' } },
      { kind: 'registry-write', label: "M1's proxy kim@example.org removed", memberId: 'M1', set: { proxies: [] } },
      { kind: 'release', dispatchId: 'd1' },
    ],
    maxSteps: 200,
  },
);

/** Configurations sampled by randomised schedules in `npm test`. */
export const RANDOM: readonly WorldConfig[] = [
  REGISTRY_PATHS,
  // Too many orderings to enumerate (every in-use answer may meet a transition still under way).
  RESUME_RACES_BREAKER,
  config('two messages, two environments, duplicates, a crash, every SES answer', {
    messages: [d1, d2],
    environments: 2,
    duplicates: 1,
    crashes: 1,
    sesAnswers: SES_ANSWERS,
  }),
  // Batches of two: a `sent` write still in flight beside the next message's claim and send
  // (PendingSettles, issue 17), a copy of one dispatchId behind it in the same batch, a crash.
  config('batches of two, a sent write beside the next claim, copies, a crash, every SES answer', {
    messages: [d1, { ...d2, copies: 2 }],
    environments: 2,
    batchSize: 2,
    duplicates: 1,
    crashes: 1,
    sesAnswers: SES_ANSWERS,
    sendEvents: true,
  }),
  config('re-publish, registry writes, pause', {
    messages: [{ ...d1, copies: 2 }, d2],
    environments: 2,
    injections: [
      { kind: 'breaker-alarm' },
      { kind: 'registry-write', label: 'M1 changes address', memberId: 'M1', set: { email: 'pat.new@example.org' } },
      { kind: 'registry-write', label: 'M2 suspended', memberId: 'M2', set: { status: 'suspended' } },
      {
        kind: 'registry-write',
        label: 'M1 suppressed for pat@example.org (complaint)',
        memberId: 'M1',
        set: { suppressions: { [hashAddress('pat@example.org', HASH_KEY)]: { reason: 'complaint', at: '2000-08-02T08:59:00Z' } } },
      },
      { kind: 'operator-pause' },
    ],
  }),
];

const d3 = { dispatchId: 'd3', memberId: 'M3', to: 'lee@example.org' };
const d4 = { dispatchId: 'd4', memberId: 'M4', to: 'kim@example.org' };
const FOUR_MEMBERS = [...BASE.members, { memberId: 'M3', email: 'lee@example.org' }, { memberId: 'M4', email: 'kim@example.org' }];

/** Larger configurations for `npm run verify`. */
export const LARGE: readonly WorldConfig[] = [
  config('four messages, batches of two, two environments, crashes, duplicates, every landed SES answer', {
    members: FOUR_MEMBERS,
    messages: [d1, d2, d3, { ...d4, copies: 2 }],
    environments: 2,
    batchSize: 2,
    duplicates: 2,
    crashes: 2,
    sesAnswers: SES_ANSWERS,
    sendEvents: true,
    maxSteps: 400,
  }),
  config('registry churn, pause and resume, a window jump', {
    members: FOUR_MEMBERS,
    messages: [d1, d2, { ...d3, copies: 2 }],
    environments: 2,
    duplicates: 1,
    crashes: 1,
    sesAnswers: SES_ANSWERS,
    injections: [
      { kind: 'registry-write', label: 'M1 changes address', memberId: 'M1', set: { email: 'pat.new@example.org' } },
      { kind: 'registry-write', label: 'M3 closed', memberId: 'M3', set: { status: 'closed' } },
      { kind: 'registry-write', label: 'M2 suppressed (legacy flag)', memberId: 'M2', set: { suppressed: true } },
      {
        kind: 'registry-write',
        label: 'M1 suppressed for pat@example.org (bounce)',
        memberId: 'M1',
        set: { suppressions: { [hashAddress('pat@example.org', HASH_KEY)]: { reason: 'bounce', at: '2000-08-02T08:59:00Z' } } },
      },
      { kind: 'operator-pause' },
      { kind: 'window-jump' },
    ],
    maxSteps: 400,
  }),
];
