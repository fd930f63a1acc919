import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { deriveReportLinkKeys, ReportLinks } from './lambdas/core/report-token';
import { createNotForMeDeps } from './lambdas/not-for-me/dependencies';
import { createNotForMeHandler } from './lambdas/not-for-me/handler';
import { Env } from './lambdas/tables';
import { startEmbeddedAws } from './local/embedded-aws';
import { startFunctionUrlServer } from './local/function-url-server';
import { execFileSync } from 'node:child_process';
(async () => {
  const aws = await startEmbeddedAws();
  const server = await startFunctionUrlServer({ handler: createNotForMeHandler(() => createNotForMeDeps({ env: aws.env, dynamodb: aws.clients.dynamodb, countMetric: () => undefined, logger: { warn() {}, error() {} } as never })) });
  await aws.clients.dynamodb.send(new PutItemCommand({ TableName: aws.tables.ledger, Item: marshall({ pk: 'm1', dispatchId: 'm1', memberId: 'M1', toHash: '0'.repeat(32), state: 'sent' }) }));
  const url = new ReportLinks(deriveReportLinkKeys(aws.env[Env.reportLinkKey]), server.url).urlFor('m1', '0'.repeat(32), new Date());
  const samples: number[] = [];
  let size = '';
  for (let i = 0; i < 21; i++) {
    const out = execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{time_starttransfer} %{size_download} %{size_header}', url]).toString().split(' ');
    samples.push(Number(out[0]) * 1000);
    size = `${out[1]} body bytes, ${out[2]} header bytes`;
  }
  const sorted = samples.slice(1).sort((a, b) => a - b);
  console.log(JSON.stringify({ url_length: url.length, size, ttfb_first_ms: samples[0].toFixed(1), ttfb_p50_ms: sorted[10].toFixed(1), ttfb_max_ms: sorted[19].toFixed(1) }));
  const gz = execFileSync('sh', ['-c', `curl -s '${url}' | gzip -9 | wc -c`]).toString().trim();
  console.log('gzip bytes', gz);
  await server.stop(); await aws.stop();
})();
