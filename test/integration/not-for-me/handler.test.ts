import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { DynamoDbPauseSwitch } from '../../../lambdas/adapters/dynamodb-pause-switch';
import { hashAddress } from '../../../lambdas/core/address';
import { deriveReportLinkKeys, ReportLinks } from '../../../lambdas/core/report-token';
import { createNotForMeDeps } from '../../../lambdas/not-for-me/dependencies';
import { createNotForMeHandler, type NotForMeDeps, type ReportNotice } from '../../../lambdas/not-for-me/handler';
import { DEFAULT_NOT_FOR_ME_SETTINGS } from '../../../lambdas/not-for-me/settings';
import { Env, LEDGER_TABLE, LedgerKey, MEMBERS_TABLE } from '../../../lambdas/tables';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { startFunctionUrlServer, type FunctionUrlServer } from '../../../local/function-url-server';
import { followNotForMeLink, LOCAL_SOURCE_IP_HEADER } from '../../../local/not-for-me-visitor';

jest.setTimeout(120_000);
let aws: EmbeddedAws;
let server: FunctionUrlServer;
let links: ReportLinks;
let pauseSwitch: DynamoDbPauseSwitch;
const notices: ReportNotice[] = [];
const metrics: string[] = [];
let clock = new Date('2000-08-02T09:00:00Z');
const settings = { ...DEFAULT_NOT_FOR_ME_SETTINGS, perTokenLimit: 3, perSourceLimit: 6 };
const hashKey = 'address-hash-key-for-this-test';
const toHash = (address: string) => hashAddress(address, hashKey);

beforeAll(async () => {
  aws = await startEmbeddedAws();
  pauseSwitch = new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb });
  const built = await createNotForMeDeps({
    env: aws.env,
    dynamodb: aws.clients.dynamodb,
    pauseSwitch,
    countMetric: (name) => metrics.push(name),
    now: () => clock,
  });
  const deps: NotForMeDeps = {
    ...built,
    settings,
    onReport: (notice) => {
      built.onReport(notice);
      notices.push(notice);
    },
  };
  server = await startFunctionUrlServer({ handler: createNotForMeHandler(deps) });
  links = new ReportLinks(deriveReportLinkKeys(aws.env[Env.reportLinkKey]), server.url);
});
afterAll(async () => {
  await server?.stop();
  await aws?.stop();
});

async function sent(dispatchId: string, memberId: string, address: string, member: Record<string, unknown> | null = {}): Promise<string> {
  if (member) {
    await aws.clients.dynamodb.send(
      new PutItemCommand({ TableName: aws.tables.members, Item: marshall({ memberId, email: address, status: 'active', ...member }) }),
    );
  }
  const record = {
    pk: LedgerKey.dispatch(dispatchId),
    dispatchId,
    memberId,
    toHash: toHash(address),
    state: 'sent',
    history: [{ state: 'sent', at: clock.toISOString() }],
  };
  await aws.clients.dynamodb.send(new PutItemCommand({ TableName: aws.tables.ledger, Item: marshall(record) }));
  return links.urlFor(dispatchId, toHash(address), clock);
}

const item = async (table: string, key: Record<string, string>) =>
  unmarshall(
    (await aws.clients.dynamodb.send(new GetItemCommand({ TableName: table, Key: marshall(key), ConsistentRead: true }))).Item ?? {},
  );
const member = (memberId: string) => item(aws.tables.members, { [MEMBERS_TABLE.partitionKey]: memberId });
const dispatch = (dispatchId: string) => item(aws.tables.ledger, { [LEDGER_TABLE.partitionKey]: dispatchId });
const post = (url: string, body = 'confirm=yes', source = '192.0.2.1') =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', [LOCAL_SOURCE_IP_HEADER]: source }, body });

describe('the "not for me" page (real handler over HTTP, DynamoDB Local)', () => {
  it('GET shows one confirm button, no member data, and changes nothing (link scanners and previews)', async () => {
    const url = await sent('nfm-get-1', 'M0001', 'pat@example.org');
    const [memberBefore, recordBefore] = [await member('M0001'), await dispatch('nfm-get-1')];
    for (let i = 0; i < 3; i++) {
      const response = await fetch(url);
      const html = await response.text();
      expect(response.status).toBe(200);
      expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
      expect(html).toContain('<form method="post">');
      for (const secret of ['M0001', 'pat@example.org', 'pat', 'nfm-get-1', toHash('pat@example.org')]) expect(html).not.toContain(secret);
    }
    expect([await member('M0001'), await dispatch('nfm-get-1')]).toEqual([memberBefore, recordBefore]);
  });

  it('a confirmed POST blocks the (member, address) pair, records the report on the dispatch, and a replay says "already reported"', async () => {
    const url = await sent('nfm-post-1', 'M0002', 'lee@example.org');
    const visit = await followNotForMeLink(url, { sourceIp: '192.0.2.10' });
    expect(visit).toEqual({
      opened: { status: 200, heading: expect.stringMatching(/not for you/) },
      confirmed: { status: 200, heading: 'Thank you for telling us' },
    });

    expect((await member('M0002')).suppressions).toEqual({
      [toHash('lee@example.org')]: { reason: 'reported-not-mine', at: clock.toISOString() },
    });
    const record = await dispatch('nfm-post-1');
    expect(record.reportedNotMineAt).toBe(clock.toISOString());
    expect(record.state).toBe('sent');
    expect(record.history.at(-1)).toEqual({ event: 'reported-not-mine', at: clock.toISOString(), by: 'recipient' });
    expect(notices.at(-1)).toEqual({
      dispatchId: 'nfm-post-1',
      memberId: 'M0002',
      toHash: toHash('lee@example.org'),
      reportsInWindow: expect.any(Number),
      pausedPipeline: false,
    });
    expect(metrics).toContain('NotForMeReported');

    const before = [await member('M0002'), await dispatch('nfm-post-1')];
    const replay = await post(url, 'confirm=yes', '192.0.2.11');
    expect([replay.status, await replay.text()]).toEqual([200, expect.stringContaining('already been reported')]);
    expect((await followNotForMeLink(url, { sourceIp: '192.0.2.12' })).opened.heading).toBe('This e-mail has already been reported');
    expect([await member('M0002'), await dispatch('nfm-post-1')]).toEqual(before);
  });

  it('keeps other suppressions of the member and adds to a suppressions map already there', async () => {
    const other = toHash('old@example.org');
    const url = await sent('nfm-map-1', 'M0003', 'kim@example.org', {
      suppressions: { [other]: { reason: 'bounce', at: '1999-01-01T00:00:00Z' } },
    });
    expect((await post(url)).status).toBe(200);
    expect((await member('M0003')).suppressions).toEqual({
      [other]: { reason: 'bounce', at: '1999-01-01T00:00:00Z' },
      [toHash('kim@example.org')]: { reason: 'reported-not-mine', at: clock.toISOString() },
    });
  });

  it('replaces a raw non-map `suppressions` value (which suppresses nothing) and still records a report whose member is gone', async () => {
    const url = await sent('nfm-raw-1', 'M0004', 'raw@example.org', { suppressions: 'garbage' });
    expect((await post(url, 'confirm=yes', '192.0.2.20')).status).toBe(200);
    expect((await member('M0004')).suppressions).toEqual({
      [toHash('raw@example.org')]: { reason: 'reported-not-mine', at: clock.toISOString() },
    });

    const gone = await sent('nfm-gone-1', 'M-GONE', 'gone@example.org', null);
    expect((await post(gone, 'confirm=yes', '192.0.2.21')).status).toBe(200);
    expect((await dispatch('nfm-gone-1')).reportedNotMineAt).toBe(clock.toISOString());
    expect(await member('M-GONE')).toEqual({});
  });

  it('answers a forged, tampered, expired or unknown link politely and changes nothing', async () => {
    const url = await sent('nfm-bad-1', 'M0005', 'sam@example.org');
    const before = [await member('M0005'), await dispatch('nfm-bad-1')];
    const token = url.slice(url.lastIndexOf('/') + 1);
    const tampered = `${url.slice(0, url.lastIndexOf('/') + 1)}${token.slice(0, 10)}${token[10] === 'A' ? 'B' : 'A'}${token.slice(11)}`;
    const foreign = new ReportLinks(deriveReportLinkKeys('some-other-deployment-key-000000'), server.url).urlFor(
      'nfm-bad-1',
      toHash('sam@example.org'),
      clock,
    );
    const unknown = links.urlFor('never-sent', toHash('sam@example.org'), clock);
    const wrongAddress = links.urlFor('nfm-bad-1', toHash('someone-else@example.org'), clock);
    for (const [link, status] of [
      [tampered, 400],
      [foreign, 400],
      [unknown, 400],
      [wrongAddress, 400],
      [`${server.url}/r/`, 400],
    ] as const) {
      for (const response of [await fetch(link), await post(link, 'confirm=yes', '192.0.2.30')]) {
        expect(response.status).toBe(status);
        expect(await response.text()).toContain('This link does not work');
      }
    }
    clock = new Date(clock.getTime() + 31 * 86_400_000);
    try {
      for (const response of [await fetch(url), await post(url, 'confirm=yes', '192.0.2.31')]) {
        expect(response.status).toBe(410);
        expect(await response.text()).toContain('This link has expired');
      }
    } finally {
      clock = new Date('2000-08-02T09:00:00Z');
    }
    expect((await fetch(`${server.url}/elsewhere`)).status).toBe(404);
    expect((await fetch(url, { method: 'DELETE' })).status).toBe(405);
    expect([await member('M0005'), await dispatch('nfm-bad-1')]).toEqual(before);
  });

  it('a POST without the confirm button (a prefetcher) only shows the page again', async () => {
    const url = await sent('nfm-nobutton-1', 'M0006', 'ash@example.org');
    const response = await post(url, '', '192.0.2.40');
    expect([response.status, await response.text()]).toEqual([200, expect.stringContaining('<form method="post">')]);
    expect((await member('M0006')).suppressions).toBeUndefined();
    expect((await dispatch('nfm-nobutton-1')).reportedNotMineAt).toBeUndefined();
  });

  it('rate-limits POSTs per token and per source', async () => {
    const url = await sent('nfm-rate-1', 'M0007', 'rae@example.org');
    const statuses = [];
    for (let i = 0; i < settings.perTokenLimit + 1; i++) statuses.push((await post(url, '', `192.0.2.${50 + i}`)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(await (await post(url, 'confirm=yes', '192.0.2.99')).text()).toContain('Please try again later');
    expect((await dispatch('nfm-rate-1')).reportedNotMineAt).toBeUndefined();

    const fromOneSource = [];
    for (let i = 0; i < settings.perSourceLimit + 1; i++)
      fromOneSource.push((await post(`${server.url}/r/forged${i}`, 'confirm=yes', '198.51.100.77')).status);
    expect(fromOneSource.slice(0, settings.perSourceLimit).every((status) => status === 400)).toBe(true);
    expect(fromOneSource.at(-1)).toBe(429);
  });

  it('pauses the pipeline when distinct dispatches reported within the window reach the threshold', async () => {
    // The reports of the tests above (same instant) already paused the pipeline: start clean.
    await pauseSwitch.resume('operator:test', clock);
    clock = new Date('2000-08-03T12:00:00Z');
    try {
      expect((await pauseSwitch.read()).paused).toBe(false);
      const urls = await Promise.all([1, 2, 3, 4].map((i) => sent(`nfm-window-${i}`, `MW${i}`, `w${i}@example.org`)));
      await post(urls[0], 'confirm=yes', '203.0.113.1');
      clock = new Date(clock.getTime() + 61 * 60_000); // the first report leaves the window
      await post(urls[1], 'confirm=yes', '203.0.113.2');
      await post(urls[2], 'confirm=yes', '203.0.113.3');
      expect((await pauseSwitch.read()).paused).toBe(false);
      expect(notices.at(-1)).toMatchObject({ dispatchId: 'nfm-window-3', reportsInWindow: 2, pausedPipeline: false });
      await post(urls[3], 'confirm=yes', '203.0.113.4');
      expect(notices.at(-1)).toMatchObject({ dispatchId: 'nfm-window-4', reportsInWindow: 3, pausedPipeline: true });
      expect((await pauseSwitch.read()).cause).toMatchObject({
        reason: 'not-for-me-reports',
        by: 'not-for-me-page',
        at: clock.toISOString(),
      });
    } finally {
      await pauseSwitch.resume('operator:test', clock);
      clock = new Date('2000-08-02T09:00:00Z');
    }
  });
});
