import type { SNSEvent } from 'aws-lambda';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { encodeDispatchTag } from '../../../lambdas/core/dispatch-tag';
import { createDispatcherDeps } from '../../../lambdas/dispatcher/dependencies';
import { createHandler } from '../../../lambdas/dispatcher/handler';
import { createFeedbackHandler } from '../../../lambdas/feedback/handler';
import { createBreakerHandler } from '../../../lambdas/breaker/handler';
import { DynamoDbFeedbackStore } from '../../../lambdas/adapters/dynamodb-feedback-store';
import { DynamoDbPauseSwitch } from '../../../lambdas/adapters/dynamodb-pause-switch';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { addSesFaults, FaultPlan } from '../../../local/faults';
import { putMembersRaw } from '../../support/members';
import { sqsEvent, sqsRecord } from '../../support/sqs-event';

jest.setTimeout(120_000);

/**
 * Runs the real handlers, with their real Powertools logger and EMF metrics, through every
 * terminal state and fails if any member address, name or `data` value reaches stdout/stderr
 * (log lines, EMF metric lines and their dimensions) or an error message.
 */
const SECRETS = ['zelda.q@example.org', 'wrong.box@example.net', 'Zelda', 'Quentin-Secretname', 'guardian.g@example.org', 'Bcc: eve'];

let aws: EmbeddedAws;
beforeAll(async () => {
  aws = await startEmbeddedAws({ config: { fanInLimit: 1, maxReceiveCount: 2 } });
  await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
    { memberId: 'P1', email: 'Zelda.Q@example.org', status: 'active', proxies: ['guardian.g@example.org'] },
    { memberId: 'P2', email: 'zelda.q@example.org', status: 'active' },
    { memberId: 'P3', email: 'wrong.box@example.net', status: 'suspended' },
    { memberId: 'P4', email: 'wrong.box@example.net', status: 'active', suppressed: true },
  ]);
});
afterAll(async () => aws?.stop());

function capture(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const originals = [process.stdout.write, process.stderr.write] as const;
  const grab = (chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  };
  process.stdout.write = grab as typeof process.stdout.write;
  process.stderr.write = grab as typeof process.stderr.write;
  return { lines, restore: () => ([process.stdout.write, process.stderr.write] = originals) };
}

const body = (dispatchId: string, memberId: string, to: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ dispatchId, memberId, to, template: 'advice-nurse-reply', data: { firstName: 'Zelda' }, ...extra });

it('no address, name or data value appears in any log line, metric or error message', async () => {
  const plan = FaultPlan.create();
  const ses = new SESv2Client({
    region: aws.region,
    endpoint: aws.endpoints.ses,
    credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    maxAttempts: 1,
  });
  addSesFaults(ses, plan);
  const errors: string[] = [];
  const out = capture();
  try {
    // Built inside the capture: the default Powertools Logger and Metrics write to these streams.
    const deps = await createDispatcherDeps({
      env: { ...aws.env, POWERTOOLS_DEV: 'false' },
      clients: { dynamodb: aws.clients.dynamodb, sqs: aws.clients.sqs, ses },
    });
    const handler = createHandler(deps);
    const run = async (...records: ReturnType<typeof sqsRecord>[]) => {
      try {
        await handler(sqsEvent(...records));
      } catch (error) {
        errors.push(String(error), String((error as Error).stack));
      }
    };
    await run(
      sqsRecord(body('s-sent', 'P1', 'zelda.q@example.org')),
      sqsRecord(body('s-proxy', 'P1', 'guardian.g@example.org')),
      sqsRecord(body('s-mismatch', 'P1', 'wrong.box@example.net')),
      sqsRecord(body('s-unknown', 'P9', 'zelda.q@example.org')),
      sqsRecord(body('s-inactive', 'P3', 'wrong.box@example.net')),
      sqsRecord(body('s-suppressed', 'P4', 'wrong.box@example.net')),
      sqsRecord(body('s-inj', 'P1', 'zelda.q@example.org\r\nBcc: eve@example.org')),
      sqsRecord(body('s-data', 'P1', 'zelda.q@example.org', { data: { firstName: 'Quentin-Secretname'.repeat(5) } })),
      sqsRecord(body('s-cc', 'P1', 'zelda.q@example.org', { cc: 'guardian.g@example.org' })),
      sqsRecord('{"to": "zelda.q@example.org", not json'),
    );
    await run(sqsRecord(body('s-sent', 'P1', 'zelda.q@example.org'))); // duplicate
    await run(sqsRecord(body('s-fan', 'P2', 'zelda.q@example.org'))); // fan-in limit 1 → blocked + pause
    await new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb }).resume('test', new Date());
    // The dispatcher may trust a pause-flag read for up to a second (12.8): let its cached "paused" age out.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    plan.arm({ target: 'ses', kind: 'throttle', times: 10 });
    await run(sqsRecord(body('s-throttle', 'P1', 'zelda.q@example.org')));
    await run(sqsRecord(body('s-failed', 'P1', 'zelda.q@example.org'), { receiveCount: 2 }));
    plan.clear();
    plan.arm({ target: 'ses', kind: 'timeout-after-send', times: 1 });
    await run(sqsRecord(body('s-doubt', 'P1', 'zelda.q@example.org')));

    const feedback = createFeedbackHandler({
      store: new DynamoDbFeedbackStore({ membersTable: aws.tables.members, ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb }),
    });
    const sesEvent = (eventType: string, extra = {}): SNSEvent =>
      ({
        Records: [
          {
            Sns: {
              Message: JSON.stringify({
                eventType,
                mail: { messageId: 'm-1', destination: ['zelda.q@example.org'], tags: { dispatchId: [encodeDispatchTag('s-doubt')] } },
                ...extra,
              }),
            },
          },
        ],
      }) as unknown as SNSEvent;
    await feedback(sesEvent('Send'));
    await feedback(
      sesEvent('Bounce', { bounce: { bounceType: 'Permanent', bouncedRecipients: [{ emailAddress: 'zelda.q@example.org' }] } }),
    );
    const breaker = createBreakerHandler({
      pauseSwitch: new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb }),
      eventSource: { disable: async () => undefined, enable: async () => undefined, isEnabled: async () => true },
    });
    await breaker({
      Records: [{ Sns: { Message: JSON.stringify({ AlarmName: 'FanInSpike', NewStateValue: 'ALARM' }) } }],
    } as unknown as SNSEvent);
  } finally {
    out.restore();
  }

  const text = [...out.lines, ...errors].join('\n');
  // The capture worked and saw every kind of outcome (the check below is not vacuous).
  for (const expected of [
    '"state":"sent"',
    '"reason":"recipient-mismatch"',
    '"reason":"unknown-member"',
    '"reason":"member-inactive"',
    '"reason":"suppressed"',
    '"reason":"fan-in-limit"',
    '"state":"duplicate"',
    '"state":"rejected"',
    '"state":"in-doubt"',
    '"state":"failed"',
    '"reason":"ses-throttled"',
    'member suppressed',
    'pipeline paused by alarm',
    '"FanInBlocked"',
    '"PausedByDispatcher"',
  ]) {
    expect([expected, text.includes(expected)]).toEqual([expected, true]);
  }
  expect(text).toMatch(/"toHash":"[0-9a-f]{32}"/);
  for (const secret of SECRETS) {
    expect([secret, text.toLowerCase().includes(secret.toLowerCase())]).toEqual([secret, false]);
  }
});
