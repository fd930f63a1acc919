/**
 * The configurations the harness explores. Small ones are enumerated exhaustively; the others
 * are sampled by randomised schedules. Model time starts 2 s before a fan-in window boundary so
 * a clock jump or a slow schedule crosses it.
 */
import { SesAnswer } from './model/ses-model';
import type { WorldConfig } from './world';

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

const d1 = { dispatchId: 'd1', memberId: 'M1', to: 'pat@example.org' };
const d2 = { dispatchId: 'd2', memberId: 'M2', to: 'sam@example.org' };

/** Small configurations enumerated exhaustively (every ordering of every choice). */
export const EXHAUSTIVE: readonly WorldConfig[] = [
  config('two deliveries of one dispatchId (AWS-style duplicate while in flight)', { messages: [d1], duplicates: 1, environments: 2 }),
  config('one dispatchId published twice, two environments', { messages: [{ ...d1, copies: 2 }], environments: 2 }),
  config('one registry write (address change) racing one message', {
    messages: [d1],
    injections: [{ kind: 'registry-write', label: 'M1 changes address', memberId: 'M1', set: { email: 'pat.new@example.org' } }],
  }),
  config('one registry write (member closed) racing one message', {
    messages: [d1],
    injections: [{ kind: 'registry-write', label: 'M1 closed', memberId: 'M1', set: { status: 'closed' } }],
  }),
  config('one crash point, SES accepts or times out', { messages: [d1], crashes: 1, sesAnswers: [SesAnswer.Accepted, SesAnswer.TimeoutAccepted] }),
  config('one operator pause racing one message', { messages: [d1], injections: [{ kind: 'operator-pause' }] }),
];

/** Configurations sampled by randomised schedules in `npm test`. */
export const RANDOM: readonly WorldConfig[] = [
  config('two messages, two environments, duplicates, a crash', { messages: [d1, d2], environments: 2, duplicates: 1, crashes: 1 }),
  config('re-publish, registry writes, pause', {
    messages: [{ ...d1, copies: 2 }, d2],
    environments: 2,
    injections: [
      { kind: 'registry-write', label: 'M1 changes address', memberId: 'M1', set: { email: 'pat.new@example.org' } },
      { kind: 'registry-write', label: 'M2 suspended', memberId: 'M2', set: { status: 'suspended' } },
      { kind: 'operator-pause' },
    ],
  }),
];
