import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StackOutput } from '../../../lib/mail-dispatch-stack';
import { localStackMailbox } from '../../../cli/src/smoke/mailbox';
import { resolveSmokeTarget, SMOKE_STACK_OUTPUTS } from '../../../cli/src/smoke/smoke-target';

jest.setTimeout(60_000);

/** A local HTTP endpoint answering as LocalStack's edge would (CloudFormation and `/_aws/ses` only). */
let server: Server;
let endpoint: string;
let outputs: Record<string, string>;
let sentMail: unknown;
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      requests.push(`${req.method} ${req.url} ${body.slice(0, 40)}`);
      if (req.method === 'GET' && req.url === '/_aws/ses') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(sentMail));
        return;
      }
      if (body.includes('Action=DescribeStacks')) {
        const members = Object.entries(outputs).map(
          ([k, v]) => `<member><OutputKey>${k}</OutputKey><OutputValue>${v}</OutputValue></member>`,
        );
        res.setHeader('content-type', 'text/xml');
        res.end(
          '<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>' +
            '<StackName>MailDispatch</StackName><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2000-08-02T09:00:00Z</CreationTime>' +
            `<Outputs>${members.join('')}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStacksResponse>`,
        );
        return;
      }
      res.statusCode = 404;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('SMOKE_STACK_OUTPUTS', () => {
  it('names outputs the stack really has', () => {
    for (const [key, name] of Object.entries(SMOKE_STACK_OUTPUTS)) expect(StackOutput[key as keyof typeof StackOutput]).toBe(name);
  });
});

describe('resolveSmokeTarget --target localstack', () => {
  it('reads the queue and tables from the stack outputs at the LocalStack endpoint', async () => {
    outputs = {
      QueueUrl: 'http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/q',
      MembersTableName: 'members-t',
      LedgerTableName: 'ledger-t',
      AddressHashSecretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:k',
    };
    const target = await resolveSmokeTarget({ target: 'localstack', endpoint }, {});
    try {
      expect(target).toMatchObject({
        kind: 'localstack',
        name: 'MailDispatch',
        queueUrl: outputs.QueueUrl,
        tables: { members: 'members-t', ledger: 'ledger-t' },
        fanInLimit: 3,
      });
      expect(target.mailbox?.description).toContain(`${endpoint}/_aws/ses`);
    } finally {
      target.close();
    }
  });

  it('names every missing output at once', async () => {
    outputs = { QueueUrl: 'q' };
    await expect(resolveSmokeTarget({ target: 'localstack', endpoint, stack: 'Other' }, {})).rejects.toThrow(
      'Stack Other has no output MembersTableName, LedgerTableName, AddressHashSecretArn: is it a deployed mail-dispatch stack?',
    );
  });
});

describe('localStackMailbox', () => {
  it('maps rendered and template-data e-mails to their dispatchIds', async () => {
    sentMail = {
      messages: [
        { Id: 'a', Destination: { ToAddresses: ['Pat@Example.org'] }, Body: { text_part: 'Hello,\n\nReference: d-1\n', html_part: null } },
        {
          Id: 'b',
          Destination: { ToAddresses: ['lee@example.org'] },
          Template: 'advice-nurse-reply',
          TemplateData: '{"dispatchRef":"d-2"}',
        },
        { Id: 'c', Destination: { ToAddresses: [] }, Body: { text_part: 'no reference' } },
      ],
    };
    await expect(localStackMailbox(endpoint).sent()).resolves.toEqual([
      { dispatchId: 'd-1', to: ['pat@example.org'] },
      { dispatchId: 'd-2', to: ['lee@example.org'] },
      { dispatchId: undefined, to: [] },
    ]);
  });
});
