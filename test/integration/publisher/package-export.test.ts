import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..');
const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name);

jest.setTimeout(120_000);

/** A portal project with this package installed (linked) under node_modules/mail-dispatch. */
let consumer: string;
beforeAll(() => {
  consumer = mkdtempSync(join(tmpdir(), 'mail-dispatch-consumer-'));
  mkdirSync(join(consumer, 'node_modules'));
  symlinkSync(ROOT, join(consumer, 'node_modules', 'mail-dispatch'), 'dir');
  writeFileSync(join(consumer, 'package.json'), '{ "name": "portal", "private": true }\n');
  writeFileSync(
    join(consumer, 'portal.ts'),
    [
      "import { parseOutcomeEvent, publishDispatch, type OutcomeEventDetail, type PublishResult } from 'mail-dispatch/publisher';",
      'const parsed = parseOutcomeEvent(\'{"schemaVersion":1}\');',
      "const fate: OutcomeEventDetail['event'] | undefined = parsed.ok ? parsed.event.event : undefined;",
      "if (parsed.ok || fate !== undefined) throw new Error('an incomplete event must not parse');",
      "const result: Promise<PublishResult> = publishDispatch({ dispatchId: 'd-1', memberId: 'M1', to: 'Pat <pat@example.org>', template: 'advice-nurse-reply' }, { queueUrl: 'http://127.0.0.1:9/q' });",
      'result.then((r) => console.log(JSON.stringify(r)));',
      '',
    ].join('\n'),
  );
});
afterAll(() => rmSync(consumer, { recursive: true, force: true }));

describe('the mail-dispatch/publisher export', () => {
  it('runs under tsx from a consumer project', async () => {
    const { stdout } = await run(bin('tsx'), ['portal.ts'], { cwd: consumer });
    expect(JSON.parse(stdout)).toMatchObject({ ok: false, dispatchId: 'd-1', reason: 'invalid-message', field: 'to', attempts: 0 });
  });

  it.each([
    ['node16', 'node16'],
    ['bundler', 'esnext'],
    ['node10', 'commonjs'],
  ])('type-checks with moduleResolution %s', async (resolution, module) => {
    const args = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', module, '--moduleResolution', resolution];
    await expect(
      run(bin('tsc'), [...args, '--types', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types'), 'portal.ts'], { cwd: consumer }),
    ).resolves.toBeDefined();
  });
});
