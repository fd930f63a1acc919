import { createHash } from 'node:crypto';
import { PAGE_CSP, PageKind, renderPage } from '../../../lambdas/core/not-for-me-page';

describe('renderPage', () => {
  it.each(Object.values(PageKind))('renders %s as a plain page: no script, no external asset, one allowed inline style', (kind) => {
    const page = renderPage(kind);
    expect(page.body).toMatch(/^<!doctype html><html lang="en">/);
    expect(page.body).not.toMatch(/<script|<img|<link|<iframe|javascript:|https?:\/\//i);
    const style = /<style>([^<]*)<\/style>/.exec(page.body)?.[1] ?? '';
    expect(PAGE_CSP).toContain(`'sha256-${createHash('sha256').update(style).digest('base64')}'`);
    expect(page.headers['content-security-policy']).toBe(PAGE_CSP);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.body).toMatch(/<title>[^<]+<\/title>/);
    expect(page.body).toMatch(/<h1>[^<]+<\/h1>/);
  });

  it('gives only the confirm page a form: one POST button, no action (it posts back to its own URL), no hidden data', () => {
    const confirm = renderPage(PageKind.Confirm).body;
    expect(confirm.match(/<form/g)).toHaveLength(1);
    expect(confirm).toContain('<form method="post"><button type="submit" name="confirm" value="yes">');
    expect(confirm).not.toMatch(/action=|type="hidden"/);
    for (const kind of Object.values(PageKind).filter((k) => k !== PageKind.Confirm)) expect(renderPage(kind).body).not.toContain('<form');
  });

  it('locks the page down: nothing loads, nothing runs, it cannot be framed, the form posts only here', () => {
    expect(PAGE_CSP.split('; ')).toEqual(
      expect.arrayContaining(["default-src 'none'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"]),
    );
    expect(PAGE_CSP).not.toMatch(/unsafe|\*/);
  });

  it('answers each failure with its own status and the same politeness', () => {
    expect([PageKind.Invalid, PageKind.Expired, PageKind.TooMany, PageKind.Unavailable].map((kind) => renderPage(kind).statusCode)).toEqual(
      [400, 410, 429, 503],
    );
    expect(renderPage(PageKind.AlreadyReported).body).toContain('already been reported');
  });
});
