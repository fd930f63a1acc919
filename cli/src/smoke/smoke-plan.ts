import { randomBytes } from 'node:crypto';
import type { DispatchMessageInput } from '../../../lambdas/core/message';

/** The smoke member: registered through the registry guard before anything is published. */
export interface SmokeMember {
  readonly memberId: string;
  /**
   * Its registered address. The default is the SES mailbox simulator's success address: SES
   * accepts it even in the sandbox, and it reaches no one.
   */
  readonly email: string;
}

export const DEFAULT_SMOKE_MEMBER: SmokeMember = { memberId: 'SMOKE-0001', email: 'success@simulator.amazonses.com' };

/** An address that is not the smoke member's (a reserved domain: were it ever sent, it would reach no one). */
export const WRONG_ADDRESS = 'smoke-wrong-recipient@example.com';

export interface SmokePlan {
  readonly runId: string;
  readonly member: SmokeMember;
  /** For the member's own address: must end `sent`. */
  readonly good: DispatchMessageInput;
  /** Same member, another address: must end `blocked(recipient-mismatch)`, never sent. */
  readonly wrongAddress: DispatchMessageInput;
  /** The good message published again (a replay): must not be sent a second time. */
  readonly duplicate: DispatchMessageInput;
}

/** The three messages of one smoke run; dispatchIds are unique per run. */
export function planSmoke(
  member: SmokeMember = DEFAULT_SMOKE_MEMBER,
  now: Date = new Date(),
  random: string = randomBytes(3).toString('hex'),
): SmokePlan {
  const runId = `smoke-${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${random}`;
  const base = {
    memberId: member.memberId,
    template: 'advice-nurse-reply',
    data: { firstName: 'Smoke' },
    requestedAt: now.toISOString(),
  } as const;
  const good: DispatchMessageInput = { ...base, dispatchId: `${runId}-good`, to: member.email };
  return {
    runId,
    member,
    good,
    wrongAddress: { ...base, dispatchId: `${runId}-wrong-address`, to: WRONG_ADDRESS },
    duplicate: { ...good },
  };
}
