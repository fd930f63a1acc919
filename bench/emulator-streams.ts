/**
 * `npm run bench:emulator-streams`: the DynamoDB Local behaviour that made the bench measure the
 * emulator instead of the pipeline (issue 17). On the real table definitions (`local/provision.ts`),
 * writes to a stream-enabled ledger that was deleted and created again (the bench's fresh ledger
 * per pipeline run) are 3-5× slower; without streams they keep their speed.
 * DynamoDB on AWS reads its streams asynchronously, off the write path, so the bench creates its
 * tables without streams (nothing in it reads them) and this script keeps the reason checkable.
 *
 * Per mode (streams on, streams off; each on its own DynamoDB Local): sequential claim-shaped
 * TransactWriteItems (member ConditionCheck, ledger Update, counter Update) and ledger PutItem,
 * on empty tables, after `FILL` members are registered (default 15,000: what the bench
 * registers), and after the ledger is deleted and created again.
 */
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  PutItemCommand,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import pLimit from 'p-limit';
import { startDynamoDbLocal } from '../local/dynamodb-local';
import { ledgerTableInput, membersTableInput } from '../local/provision';

const FILL = Number(process.env.FILL ?? 15_000);
const OPS = 200;
const MEMBERS = 'bench-probe-members';
const LEDGER = 'bench-probe-ledger';

interface Row {
  readonly streams: boolean;
  readonly stage: string;
  readonly transactMs: number;
  readonly putMs: number;
}

async function probe(streams: boolean): Promise<Row[]> {
  const ddb = await startDynamoDbLocal();
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: ddb.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  let seq = 0;
  const perOp = async (op: () => Promise<unknown>): Promise<number> => {
    const start = performance.now();
    for (let i = 0; i < OPS; i++) await op();
    return (performance.now() - start) / OPS;
  };
  const putMembers = (prefix: string, count: number) => {
    const limit = pLimit(4);
    return Promise.all(
      Array.from({ length: Math.ceil(count / 25) }, (_, b) =>
        limit(() =>
          client.send(
            new BatchWriteItemCommand({
              RequestItems: {
                [MEMBERS]: Array.from({ length: 25 }, (_, i) => ({
                  PutRequest: {
                    Item: {
                      memberId: { S: `${prefix}-${b}-${i}` },
                      email: { S: `${prefix}-${b}-${i}@members.example.org` },
                      status: { S: 'active' },
                    },
                  },
                })),
              },
            }),
          ),
        ),
      ),
    );
  };
  const measure = async (stage: string): Promise<Row> => {
    const transactMs = await perOp(() => {
      const n = seq++;
      return client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              ConditionCheck: { TableName: MEMBERS, Key: { memberId: { S: 'probe-0-0' } }, ConditionExpression: 'attribute_exists(email)' },
            },
            {
              Update: {
                TableName: LEDGER,
                Key: { pk: { S: `d${n}` } },
                UpdateExpression: 'SET #s = :s, memberId = :m, toHash = :h, auditDay = :day, claimedAt = :at',
                ConditionExpression: 'attribute_not_exists(pk)',
                ExpressionAttributeNames: { '#s': 'state' },
                ExpressionAttributeValues: {
                  ':s': { S: 'claimed' },
                  ':m': { S: `m${n}` },
                  ':h': { S: `h${n}` },
                  ':day': { S: '2026-12-01#1' },
                  ':at': { S: new Date().toISOString() },
                },
              },
            },
            {
              Update: {
                TableName: LEDGER,
                Key: { pk: { S: `fan-in#${n}` } },
                UpdateExpression: 'SET v = :v',
                ExpressionAttributeValues: { ':v': { N: '1' } },
              },
            },
          ],
        }),
      );
    });
    const putMs = await perOp(() =>
      client.send(new PutItemCommand({ TableName: LEDGER, Item: { pk: { S: `p${seq++}` }, state: { S: 'sent' } } })),
    );
    return { streams, stage, transactMs, putMs };
  };
  try {
    await client.send(new CreateTableCommand(membersTableInput(MEMBERS, { streams })));
    await client.send(new CreateTableCommand(ledgerTableInput(LEDGER, { streams })));
    await putMembers('probe', 25);
    await measure('warm-up');
    const rows = [await measure('empty tables')];
    await putMembers('fill', FILL);
    rows.push(await measure(`${FILL} members`));
    await client.send(new DeleteTableCommand({ TableName: LEDGER }));
    await client.send(new CreateTableCommand(ledgerTableInput(LEDGER, { streams })));
    rows.push(await measure('ledger re-created'));
    return rows;
  } finally {
    await ddb.stop();
  }
}

async function main(): Promise<void> {
  const rows = [...(await probe(true)), ...(await probe(false))];
  console.log(`DynamoDB Local, the bench's table definitions, ${OPS} sequential calls each, ms per call:`);
  console.log('streams  stage                 TransactWriteItems (claim)   ledger PutItem');
  for (const r of rows) {
    console.log(
      `${(r.streams ? 'on' : 'off').padEnd(8)} ${r.stage.padEnd(21)} ${r.transactMs.toFixed(1).padStart(26)}   ${r.putMs.toFixed(1).padStart(14)}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
