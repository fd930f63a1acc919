import { ReceiveMessageCommand, SendMessageCommand, type MessageAttributeValue } from '@aws-sdk/client-sqs';
import { RejectAttribute } from '../../../lambdas/tables';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { redriveDeadLetters, type RedriveResult } from '../../../cli/src/ops/redrive';
import { renderRedrive } from '../../../cli/src/ops/render';
import type { OpsTarget } from '../../../cli/src/ops/target';
import { json, runOpsCli } from './run-ops-cli';

describe('mail-dispatch redrive (CLI process, local pipeline)', () => {
  let aws: EmbeddedAws;

  beforeAll(async () => {
    aws = await startEmbeddedAws();
  });
  afterAll(async () => {
    await aws?.stop();
  });

  const attr = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });

  async function deadLetter(body: string, attributes: Record<string, MessageAttributeValue> = {}) {
    await aws.clients.sqs.send(new SendMessageCommand({ QueueUrl: aws.dlqUrl, MessageBody: body, MessageAttributes: attributes }));
  }

  /** Drains a queue (test-side) and returns what it held. */
  async function drain(queueUrl: string) {
    const seen: { body: string; attributes: Record<string, MessageAttributeValue> }[] = [];
    for (;;) {
      const { Messages = [] } = await aws.clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          VisibilityTimeout: 300,
          MessageAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) return seen;
      seen.push(...Messages.map((m) => ({ body: m.Body ?? '', attributes: m.MessageAttributes ?? {} })));
    }
  }

  it('moves failed messages back with their attributes, keeps rejected ones, honours --dry-run and --limit', async () => {
    for (let i = 0; i < 4; i++) await deadLetter(`{"dispatchId":"d${i}"}`, { traceId: attr(`t${i}`) });
    for (let i = 0; i < 2; i++) {
      await deadLetter('not json', { [RejectAttribute.reason]: attr('invalid-json'), traceId: attr(`r${i}`) });
    }

    const dry = await runOpsCli(['--local', '--json', 'redrive', '--dry-run'], aws.env);
    expect(dry.code).toBe(0);
    expect(json<RedriveResult>(dry)).toEqual({
      dryRun: true,
      moved: 4,
      keptRejected: { 'invalid-json': 2 },
      failed: 0,
      notDeleted: [],
      leftHidden: 0,
    });
    expect((await aws.queueDepth(aws.dlqUrl)).visible).toBe(6);
    expect((await aws.queueDepth()).total).toBe(0);

    const limited = await runOpsCli(['--local', 'redrive', '--limit', '1'], aws.env);
    expect(limited.code).toBe(0);
    expect(limited.stdout).toContain('Moved 1 message(s)');
    expect((await aws.queueDepth()).total).toBe(1);

    const rest = await runOpsCli(['--local', 'redrive'], aws.env);
    expect(rest.code).toBe(0);
    expect(rest.stdout).toContain('Moved 3 message(s)');
    expect(rest.stdout).toContain('Kept 2 rejected message(s) in the DLQ (invalid-json: 2)');

    const queued = await drain(aws.queueUrl);
    expect(queued.map((m) => m.body).sort()).toEqual([
      '{"dispatchId":"d0"}',
      '{"dispatchId":"d1"}',
      '{"dispatchId":"d2"}',
      '{"dispatchId":"d3"}',
    ]);
    for (const m of queued) expect(Object.keys(m.attributes)).toEqual(['traceId']);
    // The rejected ones are visible again in the DLQ at once, not hidden for the redrive's visibility timeout.
    expect((await aws.queueDepth(aws.dlqUrl)).visible).toBe(2);
  });

  it('--include-rejected moves rejected bodies too, without the reject attributes', async () => {
    const run = await runOpsCli(['--local', '--json', 'redrive', '--include-rejected'], aws.env);
    expect(json<RedriveResult>(run)).toEqual({ dryRun: false, moved: 2, keptRejected: {}, failed: 0, notDeleted: [], leftHidden: 0 });
    const queued = await drain(aws.queueUrl);
    expect(queued).toHaveLength(2);
    for (const m of queued) expect(Object.keys(m.attributes)).toEqual(['traceId']);
    expect((await aws.queueDepth(aws.dlqUrl)).total).toBe(0);
  });

  it('exits 2 on a bad --limit', async () => {
    const run = await runOpsCli(['--local', 'redrive', '--limit', '0'], aws.env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('positive integer');
  });

  /** What the DLQ watch's sweep does: receive with a visibility timeout, so the message is hidden for that long. */
  async function hideAsASweepDoes(seconds: number) {
    const { Messages = [] } = await aws.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: aws.dlqUrl, MaxNumberOfMessages: 10, VisibilityTimeout: seconds }),
    );
    return Messages.length;
  }
  const target = () =>
    ({ kind: 'local', queueUrl: aws.queueUrl, deadLetterQueueUrl: aws.dlqUrl, clients: aws.clients }) as unknown as OpsTarget;

  it('redrive during a DLQ sweep waits for the messages the sweep hides, then moves them', async () => {
    await deadLetter('{"dispatchId":"hidden-1"}');
    expect(await hideAsASweepDoes(4)).toBe(1);
    const result = await redriveDeadLetters(target(), { waitForHiddenSeconds: 20 });
    expect(result).toMatchObject({ moved: 1, leftHidden: 0 });
    expect((await drain(aws.queueUrl)).map((m) => m.body)).toEqual(['{"dispatchId":"hidden-1"}']);
    expect((await aws.queueDepth(aws.dlqUrl)).total).toBe(0);
  });

  it('redrive gives up waiting after its bound and says how many it left hidden (the CLI exits 1)', async () => {
    await deadLetter('{"dispatchId":"hidden-2"}');
    expect(await hideAsASweepDoes(30)).toBe(1);
    const result = await redriveDeadLetters(target(), { waitForHiddenSeconds: 2 });
    expect(result).toMatchObject({ moved: 0, leftHidden: 1 });
    expect(renderRedrive(result)).toContain('1 message(s) stayed hidden in the DLQ');
    const run = await runOpsCli(['--local', 'redrive', '--wait-for-hidden', '1'], aws.env);
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toContain('stayed hidden');
  });
});
