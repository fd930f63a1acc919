import fc from 'fast-check';
import { hashAddress, normaliseAddress } from '../../../lambdas/core/address';
import { mailboxHoldings } from '../../../lambdas/core/registry-watch';
import { LedgerKey } from '../../../lambdas/tables';
import { resolveConfig } from '../../../lambdas/core/config';
import { parseDispatchMessage } from '../../../lambdas/core/message';
import { BlockReason, DispatchState, RejectReason, RetryReason } from '../../../lambdas/core/outcomes';
import { dispatchBatch } from '../../../lambdas/dispatcher/dispatch-batch';
import {
  CollectingReporter,
  InMemoryDispatchLedger,
  InMemoryPauseSwitch,
  InMemoryRejectedSink,
  RecordingMailSender,
} from '../../../local/in-memory-ports';
import { sqsRecord } from '../../support/sqs-event';
import { testReportLinks } from '../../support/report-links';

/**
 * Property tests over hostile input: whatever the portal publishes and whatever the registry
 * holds, every message ends in a known state with its reason, and mail only ever goes to the
 * member's own registered address or an authorised proxy, at most once per dispatchId.
 */

const RUNS = 10_000;
const HASH_KEY = 'k';

const BASE_ADDRESSES = ['pat@example.org', 'lee@example.org', 'guardian@example.net', 'kate@xn--bcher-kva.example'];

/** Ways a real address gets mangled, spoofed or smuggled. */
const variantKind = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0, 0, 0, 1, 2, 14) },
  { weight: 1, arbitrary: fc.integer({ min: 3, max: 13 }) },
);
const addressVariant = fc.tuple(fc.constantFrom(...BASE_ADDRESSES, BASE_ADDRESSES[0], BASE_ADDRESSES[0]), variantKind).map(([a, kind]) => {
  const [local, domain] = a.split('@');
  switch (kind) {
    case 0:
      return a;
    case 1:
      return a.toUpperCase();
    case 2:
      return ` \t${a}  `;
    case 3:
      return a.replace('a', '\u0430'); // Cyrillic a
    case 4:
      return a.replace('k', '\u212A'); // Kelvin sign
    case 5:
      return `${a}\r\nBcc: eve@evil.example`;
    case 6:
      return `${local}(comment)@${domain}`;
    case 7:
      return `"${local}"@${domain}`;
    case 8:
      return `Pat Example <${a}>`;
    case 9:
      return `${a}, eve@evil.example`;
    case 10:
      return `${local}@b\u00fccher.example`; // IDN, not in its xn-- form
    case 11:
      return a.replace('@', '\uFF20'); // fullwidth @
    case 12:
      return `${a}\n`;
    case 13:
      return `${local}@${domain}.`;
    default:
      return `${local}+tag@${domain}`;
  }
});

const memberRecord = (memberId: string) =>
  fc.record({
    memberId: fc.constant(memberId),
    email: fc.oneof(addressVariant, fc.constant(undefined), fc.integer()),
    status: fc.constantFrom('active', 'active', 'active', 'active', 'active', 'suspended', 'closed', 'ACTIVE', undefined),
    proxies: fc.oneof(
      fc.constant([]),
      fc.array(addressVariant, { maxLength: 2 }),
      addressVariant,
      fc.array(addressVariant, { maxLength: 2 }).map((a) => new Set(a)),
    ),
    suppressed: fc.constantFrom(undefined, undefined, undefined, false, true, 'true', 'false'),
    // The wards this member consents to receive mail for at its own mailbox (12.3).
    proxyFor: fc.oneof(fc.constant(undefined), fc.subarray([...MEMBER_IDS])),
    // Per-address suppression (keyed by the address hash, as the feedback function writes it).
    suppressions: fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      {
        weight: 1,
        arbitrary: fc.dictionary(
          fc.constantFrom(...BASE_ADDRESSES).map((a) => hashAddress(a, HASH_KEY)),
          fc.record({ reason: fc.constantFrom('bounce', 'complaint', 'reported-not-mine'), at: fc.constant('2000-08-02T09:00:00Z') }),
          { maxKeys: 2 },
        ),
      },
    ),
  });

const MEMBER_IDS = ['M1', 'M2', 'M3', 'M4'];

/** A published body: mostly contract-shaped (half of them aimed at the member's own entry), some junk. */
type BodySpec = { json: Record<string, unknown>; aimAtMember: boolean } | { raw: string };
const bodySpec: fc.Arbitrary<BodySpec> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .record(
        {
          dispatchId: fc.oneof(
            { weight: 9, arbitrary: fc.constantFrom('d1', 'd2', 'd3', 'd.4:x', 'd5', 'd6') },
            { weight: 1, arbitrary: fc.string({ maxLength: 4 }) },
          ),
          memberId: fc.constantFrom(...MEMBER_IDS, 'M404'),
          to: addressVariant,
          template: fc.constantFrom('advice-nurse-reply', 'appointment-reminder', 'advice-nurse-reply', 'lab-results'),
          data: fc.oneof(
            { weight: 6, arbitrary: fc.constant({}) },
            { weight: 3, arbitrary: fc.record({ firstName: fc.string({ maxLength: 70 }) }) },
            { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }) },
          ),
        },
        { requiredKeys: ['dispatchId', 'memberId', 'to', 'template'] },
      )
      .chain((json) => fc.boolean().map((aimAtMember) => ({ json, aimAtMember }))),
  },
  { weight: 1, arbitrary: fc.string().map((raw) => ({ raw })) },
  { weight: 1, arbitrary: fc.json().map((raw) => ({ raw })) },
);

/** Turns a spec into the SQS body; an aimed one takes the member's stored address (or a proxy), as-is. */
function materialise(spec: BodySpec, members: readonly { memberId: string; email: unknown; proxies: unknown }[]): string {
  if ('raw' in spec) return spec.raw;
  const member = members.find((m) => m.memberId === spec.json.memberId);
  const proxies = member?.proxies instanceof Set ? [...member.proxies] : Array.isArray(member?.proxies) ? member.proxies : [];
  const own = [member?.email, ...proxies].find((v) => typeof v === 'string');
  return JSON.stringify(spec.aimAtMember && own !== undefined ? { ...spec.json, to: own } : spec.json);
}

const body = bodySpec.map((spec) => materialise(spec, []));

/** A plain assertion: jest's expect() builds an error per call, too slow for 10,000 runs. */
function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

const TERMINAL = new Set<string>(Object.values(DispatchState));
const REASONS: Record<string, Set<string>> = {
  blocked: new Set(Object.values(BlockReason)),
  rejected: new Set(Object.values(RejectReason)),
  failed: new Set(Object.values(RetryReason)),
  retry: new Set(Object.values(RetryReason)),
};

describe('dispatchBatch under fuzzed messages and registry states', () => {
  it(`ends every message in a known state and mails only the member’s own addresses (${RUNS} runs)`, async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(...MEMBER_IDS.map(memberRecord)),
        fc.array(bodySpec, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 3 }),
        // One at a time (claims just before each send) and concurrently (claims up front, shared transactions).
        fc.constantFrom(1, 3, 10),
        async (members, specs, fanInLimit, handlerConcurrency) => {
          const bodies = specs.map((spec) => materialise(spec, members));
          const ledger = new InMemoryDispatchLedger();
          for (const m of members) ledger.members.set(m.memberId, m);
          // The registry index's owners, as the guard and the registry watch keep them (12.3).
          for (const m of members) {
            for (const [mailbox, role] of mailboxHoldings(m)) {
              if (role !== 'own') continue;
              const key = LedgerKey.registry(hashAddress(mailbox, HASH_KEY));
              ledger.mailboxOwners.set(key, new Set([...(ledger.mailboxOwners.get(key) ?? []), m.memberId]));
            }
          }
          const sender = new RecordingMailSender();
          const reporter = new CollectingReporter();
          const ctx = {
            ledger,
            sender,
            pauseSwitch: new InMemoryPauseSwitch(),
            rejectedSink: new InMemoryRejectedSink(),
            reporter,
            config: resolveConfig({ fanInLimit, handlerConcurrency }),
            hashKey: HASH_KEY,
            reportLinks: testReportLinks(),
            now: () => new Date('2000-08-02T09:00:00Z'),
          };
          const records = bodies.map((b) => sqsRecord(b));
          const tally = () =>
            reporter.events.forEach((e) => {
              const key = 'reason' in e.outcome ? `${e.outcome.state}:${e.outcome.reason}` : e.outcome.state;
              seen.set(key, (seen.get(key) ?? 0) + 1);
            });
          // Deliver the batch twice: redelivery must never send anything again.
          await dispatchBatch(records, ctx);
          const sentOnce = sender.sent.length;
          await dispatchBatch(records, ctx);
          check(sender.sent.length === sentOnce, 'a redelivered batch sent again');

          for (const record of records) {
            const outcome = reporter.events.find((e) => e.sqsMessageId === record.messageId)?.outcome;
            if (!outcome) throw new Error('a message got no outcome');
            check(outcome.state === 'retry' || TERMINAL.has(outcome.state), `unknown state ${outcome.state}`);
            if (outcome.state in REASONS)
              check(REASONS[outcome.state].has((outcome as { reason: string }).reason), `unknown reason for ${outcome.state}`);
            if (outcome.state === 'rejected') check(!parseDispatchMessage(record.body).ok, 'a valid message was rejected');
          }
          const perDispatch = new Map<string, number>();
          const perAddress = new Map<string, Set<string>>();
          const sentEvents = reporter.events.filter((e) => e.outcome.state === 'sent');
          check(sentEvents.length === sender.sent.length, 'sends and sent outcomes differ');
          for (const event of sentEvents) {
            const record = records.find((r) => r.messageId === event.sqsMessageId);
            const published = parseDispatchMessage(record?.body ?? '');
            if (!published.ok || event.outcome.state !== 'sent') throw new Error('an invalid message was sent');
            const { sesMessageId } = event.outcome;
            const { dispatchId, memberId, to } = published.message;
            const mail = sender.sent.find((m) => m.messageId === sesMessageId);
            check(mail?.dispatchId === dispatchId && mail.to === to, 'the mail differs from its message');
            check(
              ledger.allowedAddresses(memberId, (a) => hashAddress(a, HASH_KEY)).includes(to),
              `mail for ${memberId} went to an address that is not the member's`,
            );
            check(/^[\x21-\x7e]+$/.test(to), 'a non-ASCII address was mailed');
            perDispatch.set(dispatchId, (perDispatch.get(dispatchId) ?? 0) + 1);
            perAddress.set(to, (perAddress.get(to) ?? new Set()).add(memberId));
          }
          for (const count of perDispatch.values()) check(count === 1, 'a dispatchId was sent twice');
          for (const membersOnAddress of perAddress.values()) check(membersOnAddress.size <= fanInLimit, 'fan-in limit exceeded');
          tally();
        },
      ),
      { numRuns: RUNS },
    );
    // The generators must reach every outcome, or the property above proves little.
    // (Typical counts per 10,000 runs: sent ~2,000, each block reason ≥ 1,000 but fan-in ~10.)
    const reached = (key: string) => [key, (seen.get(key) ?? 0) > 0];
    for (const key of [
      'sent',
      'duplicate',
      'rejected:invalid-json',
      'rejected:invalid-message',
      'rejected:unknown-template',
      ...Object.values(BlockReason).map((r) => `blocked:${r}`),
    ]) {
      expect(reached(key)).toEqual([key, true]);
    }
    expect(seen.get('sent')).toBeGreaterThan(500);
  });
});

describe('parseDispatchMessage on arbitrary input', () => {
  it(`never throws and always names a reject reason (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), body), (input) => {
        const parsed = parseDispatchMessage(input);
        if (!parsed.ok) check((Object.values(RejectReason) as string[]).includes(parsed.reason), 'unknown reject reason');
        else check(parsed.message.to === normaliseAddress(parsed.message.to), 'address not normalised');
      }),
      { numRuns: RUNS },
    );
  });
});
