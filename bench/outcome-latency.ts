#!/usr/bin/env node
/**
 * Outcome-feed latency, locally (`npm run bench:outcomes -- [e-mails]`): publishes e-mails through
 * the local pipeline, reports an SES Delivery for each, and reads the feed (the SQS queue that
 * stands for the bus) as the portal would, all along. For every event: ledger write (the event's
 * `recordedAt` for SES fates, `at` for the dispatcher's states: both the ledger's own timestamps)
 * to received. Prints p50/p99 and events per e-mail (JSON on stdout). A measurement, not a test:
 * the figures depend on the machine and on the publisher's poll interval (100 ms by default).
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { registerMembers } from '../lambdas/adapters/dynamodb-member-registry';
import { dispatchRefFromText } from '../lambdas/core/templates';
import { Env } from '../lambdas/tables';
import { sesFeedbackEvent } from '../local/feedback-pump';
import { LocalPipeline } from '../local/local-pipeline';

const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];

async function main(): Promise<void> {
  const emails = Number(process.argv[2] ?? 200);
  const pipeline = await LocalPipeline.start({ concurrency: 2, reputation: { windowSends: 1_000_000 } });
  const { aws } = pipeline;
  const received: { at: number; body: string }[] = [];
  let consuming = true;
  const consumer = (async () => {
    while (consuming) {
      const { Messages = [] } = await aws.clients.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: aws.outcomeQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      const at = Date.now();
      for (const m of Messages) received.push({ at, body: m.Body ?? '' });
      if (Messages.length > 0) {
        await aws.clients.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: aws.outcomeQueueUrl,
            Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
      }
    }
  })();
  try {
    const ids = Array.from({ length: emails }, (_, i) => `L${String(i).padStart(5, '0')}`);
    await registerMembers(
      ids.map((memberId) => ({ memberId, email: `${memberId.toLowerCase()}@example.org`, status: 'active' as const })),
      { tables: aws.tables, hashKey: aws.env[Env.addressHashKey], fanInLimit: 3, client: aws.clients.dynamodb },
    );
    for (let i = 0; i < ids.length; i += 10) {
      const entries = ids.slice(i, i + 10).map((id, n) => ({
        Id: String(n),
        MessageBody: JSON.stringify({
          dispatchId: `lat-${id}`,
          memberId: id,
          to: `${id.toLowerCase()}@example.org`,
          template: 'advice-nurse-reply',
          data: {},
        }),
      }));
      await aws.clients.sqs.send(new SendMessageBatchCommand({ QueueUrl: aws.queueUrl, Entries: entries }));
    }
    await pipeline.drain(600);
    for (const email of await aws.sesStore()) {
      const dispatchId = dispatchRefFromText(email.body.text ?? '');
      if (dispatchId) await pipeline.feedbackHandler(sesFeedbackEvent({ type: 'Delivery' }, dispatchId, email, new Date()));
    }
    await pipeline.outcomePublisher.catchUp();
    await new Promise((resolve) => setTimeout(resolve, 2500));
  } finally {
    consuming = false;
    await consumer;
    await pipeline.stop();
  }
  const events = received.map(({ at, body }) => {
    const detail = JSON.parse(body).detail as { outcomeId: string; event: string; at: string; recordedAt?: string };
    return { id: detail.outcomeId, event: detail.event, latencyMs: at - Date.parse(detail.recordedAt ?? detail.at) };
  });
  const unique = new Map(events.map((e) => [e.id, e]));
  const latencies = (list: readonly { latencyMs: number }[]) => list.map((e) => e.latencyMs).sort((a, b) => a - b);
  const summary = (list: readonly { latencyMs: number }[]) => {
    const sorted = latencies(list);
    return { events: sorted.length, p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99), maxMs: sorted.at(-1) };
  };
  const byEvent = Object.fromEntries(
    [...new Set(events.map((e) => e.event))].map((name) => [name, summary(events.filter((e) => e.event === name))]),
  );
  process.stdout.write(
    `${JSON.stringify(
      {
        emails,
        eventsReceived: events.length,
        distinctEvents: unique.size,
        eventsPerEmail: unique.size / emails,
        latency: summary([...unique.values()]),
        byEvent,
        note: 'ledger write (recordedAt / at) to received by a consumer long-polling the local feed queue; publisher poll interval 100 ms',
      },
      null,
      2,
    )}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
