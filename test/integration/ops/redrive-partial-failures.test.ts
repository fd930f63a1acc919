import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { redriveDeadLetters } from '../../../cli/src/ops/redrive';
import { renderRedrive } from '../../../cli/src/ops/render';
import type { OpsTarget } from '../../../cli/src/ops/target';
import { sqsWithBatchRules, type EntryRefusal } from '../../support/sqs-batch-rules';

jest.setTimeout(60_000);

/**
 * Issue 20.5: `DeleteMessageBatch` answers 200 with `Failed` entries (fauxqs never does). `ops
 * redrive` copies a DLQ message to the queue, then deletes it from the DLQ: a refused delete is a
 * copy left behind, which a later redrive would move again.
 */
describe('ops redrive when SQS refuses some deletes', () => {
  let aws: EmbeddedAws;
  let refuse: (receiptHandle: string) => EntryRefusal | undefined;

  beforeAll(async () => {
    aws = await startEmbeddedAws();
  });
  afterAll(async () => aws?.stop());

  /** The pipeline as `ops redrive` sees it, with an SQS client that refuses what `refuse` picks. */
  function target(): OpsTarget {
    const sqs = sqsWithBatchRules({ region: aws.region, endpoint: aws.endpoints.sqs }, { refuseDelete: (handle) => refuse(handle) });
    return {
      kind: 'local',
      queueUrl: aws.queueUrl,
      deadLetterQueueUrl: aws.dlqUrl,
      clients: { ...aws.clients, sqs },
    } as unknown as OpsTarget;
  }

  async function drainQueue(): Promise<string[]> {
    const bodies: string[] = [];
    for (;;) {
      const { Messages = [] } = await aws.clients.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: aws.queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 300 }),
      );
      if (Messages.length === 0) return bodies;
      bodies.push(...Messages.map((m) => m.Body ?? ''));
    }
  }

  it('tries a delete SQS failed through no fault of the sender again, so the message is moved once', async () => {
    let failures = 1;
    refuse = () => (failures-- > 0 ? { code: 'InternalError', senderFault: false } : undefined);
    await aws.clients.sqs.send(new SendMessageCommand({ QueueUrl: aws.dlqUrl, MessageBody: '{"dispatchId":"p1"}' }));
    const result = await redriveDeadLetters(target());
    expect(result).toMatchObject({ moved: 1, failed: 0, notDeleted: [] });
    expect((await aws.queueDepth(aws.dlqUrl)).total).toBe(0);
    expect(await drainQueue()).toEqual(['{"dispatchId":"p1"}']);
  });

  it('reports a copy whose DLQ message SQS refused to delete (bad receipt handle) instead of calling it cleanly moved', async () => {
    refuse = () => ({ code: 'ReceiptHandleIsInvalid', senderFault: true });
    const { MessageId } = await aws.clients.sqs.send(new SendMessageCommand({ QueueUrl: aws.dlqUrl, MessageBody: '{"dispatchId":"p2"}' }));
    const result = await redriveDeadLetters(target());
    expect(result).toMatchObject({ moved: 1, failed: 0, notDeleted: [MessageId] });
    expect(renderRedrive(result)).toContain('1 message(s) were copied to the queue but SQS refused to delete them from the DLQ');
    expect(await drainQueue()).toEqual(['{"dispatchId":"p2"}']);
  });
});
