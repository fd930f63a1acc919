import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runSmokeCli } from '../../support/run-smoke-cli';
import { runOpsCli } from './run-ops-cli';

/**
 * Issue 19.7: `--stack` failures said "Cannot read the outputs of stack MailDispatch (Error) (Error)"
 * when the SDK said the region is missing, and "(CredentialsProviderError)" twice without what to do;
 * smoke exited 2 and the ops CLI 1 for the same problem. Each is now its cause and its fix, exit 3
 * (the environment) in both commands.
 */
const ENVIRONMENT_EXIT = 3;

/** No region, no credentials, no profile, no instance metadata: a laptop with nothing configured. */
const bare: Record<string, string> = {
  PATH: process.env.PATH ?? '',
  HOME: '/nonexistent',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/nonexistent/config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
};

/** CloudFormation's own answer (query protocol) for a stack that does not exist in the region asked. */
let cloudFormation: Server;
let endpoint: string;
beforeAll(async () => {
  cloudFormation = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(400, { 'content-type': 'text/xml' });
      response.end(
        '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type>' +
          '<Code>ValidationError</Code><Message>Stack with id Nope does not exist</Message></Error><RequestId>r-1</RequestId></ErrorResponse>',
      );
    });
  });
  await new Promise<void>((resolve) => cloudFormation.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(cloudFormation.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => cloudFormation.close(() => resolve())));

const cases: [string, () => Record<string, string>, string[], RegExp[]][] = [
  ['no region', () => bare, ['MailDispatch'], [/no AWS region/i, /AWS_REGION/, /--region/]],
  [
    'no credentials',
    () => ({ ...bare, AWS_REGION: 'eu-west-1' }),
    ['MailDispatch'],
    [/no AWS credentials/i, /AWS_PROFILE/, /aws sso login|AWS_ACCESS_KEY_ID/],
  ],
  [
    'a stack that does not exist',
    () => ({
      ...bare,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_ENDPOINT_URL_CLOUDFORMATION: endpoint,
    }),
    ['Nope'],
    [/stack Nope does not exist in eu-west-1/, /--stack|MAIL_DISPATCH_STACK/, /--region|AWS_REGION/],
  ],
];

describe('--stack failures name the cause and the fix, with one exit code', () => {
  it.each(cases)('the ops CLI on %s', async (_name, env, [stack], messages) => {
    const run = await runOpsCli(['--stack', stack as string, 'status'], env());
    expect(run.code).toBe(ENVIRONMENT_EXIT);
    for (const message of messages) expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\(Error\)/);
    expect(run.stderr.match(/CredentialsProviderError/g) ?? []).toHaveLength(0);
    expect(run.stdout).toBe('');
  });

  it.each(cases)('smoke on %s', async (_name, env, [stack], messages) => {
    const run = await runSmokeCli(
      ['--target', 'aws', '--stack', stack as string],
      { ...env(), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      60_000,
    );
    expect(run.code).toBe(ENVIRONMENT_EXIT);
    for (const message of messages) expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\(Error\)/);
  });
});
