import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { reportUrlFromText } from '../../../lambdas/core/templates';
import { LocalPipeline } from '../../../local/local-pipeline';
import { collectOutcomes, ledgerRecord, message, publish, putMembers, until } from './helpers';

jest.setTimeout(240_000);

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', '..', 'artifacts');
const SCREENSHOT = join(ARTIFACTS, 'not-for-me-page.png');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  // Loud on purpose: a skipped browser test is not a pass. .ci/run installs Debian's chromium.
  console.warn(`SKIPPED the "not for me" browser test: ${CHROMIUM} is missing (apt-get install -y chromium). This is NOT a pass.`);
}

/**
 * A person in a real browser (headless Chromium, JavaScript off): opens the link from the e-mail
 * in the SES emulator's store, sees a page with nothing about the member, presses the button,
 * sees the thank-you page; the member's next message is then blocked `reported-not-mine`.
 */
(haveChromium ? describe : describe.skip)('the "not for me" page in headless Chromium', () => {
  let pipeline: LocalPipeline;
  let context: BrowserContext | undefined;
  const profile = mkdtempSync(join(tmpdir(), 'mail-dispatch-chromium-'));

  beforeAll(async () => {
    pipeline = await LocalPipeline.start({ concurrency: 1 });
  });
  afterAll(async () => {
    await context?.close();
    await pipeline?.stop();
    rmSync(profile, { recursive: true, force: true });
  });

  it("shows no member data, confirms on click, and the member's next message is blocked reported-not-mine", async () => {
    const outcomes = collectOutcomes(pipeline);
    await putMembers(pipeline, [{ memberId: 'B0001', email: 'pat.browser@example.org' }]);
    await publish(pipeline, [message('browser-1', 'B0001', 'pat.browser@example.org')]);
    await until(() => outcomes.some((o) => o.dispatchId === 'browser-1' && o.outcome.state === 'sent'), 60_000);
    const email = (await pipeline.aws.sesStore()).find((e) => e.body.text?.includes('Reference: browser-1'));
    const url = reportUrlFromText(email?.body.text ?? '');
    expect(url?.startsWith(`${pipeline.reportPage.url}/r/`)).toBe(true);
    expect(email?.body.html).toContain(`<a href="${url}">Tell us</a>`);

    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      javaScriptEnabled: false,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
        '--disable-quic',
      ],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const consoleErrors: string[] = [];
    page.on('console', (entry) => entry.type() === 'error' && consoleErrors.push(entry.text()));
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));

    const response = await page.goto(url as string);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toMatch(/^default-src 'none'/);
    const heading = await page.getByRole('heading', { level: 1 }).textContent();
    expect(heading).toBe('Did you get an e-mail from us that is not for you?');
    const text = await page.locator('body').innerText();
    for (const secret of ['B0001', 'pat.browser@example.org', 'Pat', 'browser-1']) expect(text).not.toContain(secret);
    expect(await page.content()).not.toMatch(/B0001|pat\.browser|browser-1/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(1000);

    await page.getByRole('button', { name: 'This e-mail is not for me' }).click();
    await page.waitForLoadState();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Thank you for telling us');
    await page.screenshot({ path: join(ARTIFACTS, 'not-for-me-thanks.png'), fullPage: true });
    // Nothing but the page itself was ever loaded, and the style passed the CSP.
    expect(requests.every((request) => request.startsWith(pipeline.reportPage.url))).toBe(true);
    expect(consoleErrors).toEqual([]);
    expect((await ledgerRecord(pipeline, 'browser-1'))?.reportedNotMineAt).toEqual(expect.any(String));

    await publish(pipeline, [message('browser-2', 'B0001', 'pat.browser@example.org')]);
    await until(() => outcomes.some((o) => o.dispatchId === 'browser-2' && o.outcome.state !== 'retry'), 60_000);
    expect(outcomes.find((o) => o.dispatchId === 'browser-2')?.outcome).toEqual({ state: 'blocked', reason: 'reported-not-mine' });
    expect((await pipeline.aws.sesStore()).filter((e) => e.body.text?.includes('Reference: browser-2'))).toEqual([]);
  });
});
