import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import { bundleForWorker } from '../../../local/bundle';
import { ExecutionEnvironment } from '../../../local/execution-environment';

jest.setTimeout(60_000);

const event = (body: unknown): SQSEvent => ({
  Records: [
    {
      messageId: 'm1',
      receiptHandle: 'rh',
      body: JSON.stringify(body),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:q',
      awsRegion: 'us-east-1',
    },
  ],
});

describe('ExecutionEnvironment.stop after the last invocation answered (npm run local, Ctrl-C)', () => {
  let bundlePath: string;
  beforeAll(async () => {
    bundlePath = await bundleForWorker(join(__dirname, 'fixtures', 'scripted-handler.ts'));
  });

  it('keeps every log line the invocation wrote before its answer (outcome lines were cut off by the terminate)', async () => {
    const lines: string[] = [];
    const environment = new ExecutionEnvironment({ bundlePath, onLogLine: (line) => lines.push(line) });
    const result = await environment.invoke(event({ logLines: 20_000 }), 30_000);
    expect(result.kind).toBe('response');
    await environment.stop();
    const written = lines.filter((line) => line.startsWith('line '));
    expect(written).toHaveLength(20_000);
    expect(written.at(-1)).toBe('line 19999');
    // The fence itself is not a log line.
    expect(lines.some((line) => line.includes('fence'))).toBe(false);
  });

  it('a worker that never ran anything stops at once', async () => {
    const environment = new ExecutionEnvironment({ bundlePath });
    const started = Date.now();
    await environment.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
