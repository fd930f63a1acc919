import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { createServer, request, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { createDispatcherDeps } from '../../../lambdas/dispatcher/dependencies';
import { createHandler } from '../../../lambdas/dispatcher/handler';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { putMembersRaw } from '../../support/members';
import { RecordingReporter } from '../../support/recording-reporter';
import { sqsEvent, sqsRecord } from '../../support/sqs-event';

/**
 * The dispatcher's DynamoDB client had no request timeout: a connection that DynamoDB accepts and
 * never answers eats the whole Lambda budget (the 12.6 time check cannot help inside one call) and,
 * on the claim, strands a claimed message. Here a proxy in front of DynamoDB Local forwards every
 * request but never answers a TransactWriteItems (the claim commits, its answer is lost), and the
 * dispatcher is built as deployed: its DynamoDB client comes from `createDispatcherDeps`, pointed
 * at the proxy only by the SDK's standard endpoint variable.
 */
jest.setTimeout(120_000);

let aws: EmbeddedAws;
let proxy: Server;
let proxyUrl: string;
const held = new Set<Socket>();
let swallowed = 0;

beforeAll(async () => {
  aws = await startEmbeddedAws();
  await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
    { memberId: 'H1', email: 'hana@example.org', status: 'active', proxies: [] },
  ]);
  const upstream = new URL(aws.endpoints.dynamodb);
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const swallow = String(req.headers['x-amz-target'] ?? '').endsWith('TransactWriteItems');
      const out = request(
        { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          if (swallow) {
            // Committed upstream; the caller never hears of it (the socket stays open, silent).
            swallowed++;
            answer.resume();
            held.add(req.socket);
            return;
          }
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
        },
      );
      out.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  proxyUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => proxy?.close(resolve));
  await aws?.stop();
});

const body = JSON.stringify({
  dispatchId: 'st-hung-claim',
  memberId: 'H1',
  to: 'hana@example.org',
  template: 'advice-nurse-reply',
  data: { firstName: 'Hana' },
});

async function record(pk: string) {
  const { Item } = await aws.clients.dynamodb.send(
    new GetItemCommand({ TableName: aws.tables.ledger, Key: { pk: { S: pk } }, ConsistentRead: true }),
  );
  return Item ? unmarshall(Item) : undefined;
}

/**
 * The dispatcher as deployed: no DynamoDB client passed in, the SDK's own endpoint and credentials
 * variables (read when the client first sends, so they stay set for the test; restored after it).
 */
async function deployedDispatcher(dynamodbEndpoint: string) {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamodbEndpoint,
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: 'l',
    AWS_SECRET_ACCESS_KEY: 'l',
  });
  const deps = await createDispatcherDeps({
    env: aws.env,
    clients: { sqs: aws.clients.sqs, ses: aws.clients.ses },
    reporter: new RecordingReporter(),
  });
  return createHandler(deps);
}

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe('the dispatcher gives up on a hung DynamoDB call in time', () => {
  it('a claim whose answer never comes fails within the store timeout, is given back (released, nothing sent), and is sent once on redelivery', async () => {
    const handler = await deployedDispatcher(proxyUrl);
    const started = Date.now();
    const outcome = await Promise.race([
      handler(sqsEvent(sqsRecord(body, { messageId: 'sqs-st-1' }))),
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 20_000).unref()),
    ]);
    const elapsed = Date.now() - started;
    // Before: the call waited for ever (the Lambda timeout, 30 s, in AWS).
    expect(outcome).not.toBe('hung');
    expect(swallowed).toBeGreaterThan(0);
    // Within the claim's share of the attempt budget per try (the dispatcher claims afresh once).
    expect(elapsed).toBeLessThan(10_000);
    expect(outcome).toEqual({ batchItemFailures: [{ itemIdentifier: 'sqs-st-1' }] });
    // The committed claim was found and given back: nothing sent, nothing stranded as claimed.
    const afterHang = await record('st-hung-claim');
    expect(afterHang).toMatchObject({ state: 'released' });
    expect(afterHang).not.toHaveProperty('sesMessageId');

    // SQS redelivers; DynamoDB answers again: one fresh claim, one send.
    const healthy = await deployedDispatcher(aws.endpoints.dynamodb);
    await expect(healthy(sqsEvent(sqsRecord(body, { messageId: 'sqs-st-1', receiveCount: 2 })))).resolves.toEqual({
      batchItemFailures: [],
    });
    const sent = await record('st-hung-claim');
    expect(sent).toMatchObject({ state: 'sent' });
    expect(((sent?.history ?? []) as { state: string }[]).filter((h) => h.state === 'sent')).toHaveLength(1);
  });
});
