import fc from 'fast-check';
import { hashAddress } from '../../../lambdas/core/address';
import {
  checkReportToken,
  createReportToken,
  deriveReportLinkKeys,
  MAX_TOKEN_CHARS,
  REPORT_PATH_PREFIX,
  ReportLinks,
} from '../../../lambdas/core/report-token';

const keys = deriveReportLinkKeys('a-report-link-secret-for-tests-0123456789');
const otherKeys = deriveReportLinkKeys('another-secret-entirely-9876543210');
const toHash = hashAddress('pat@example.org', 'hash-key');
const now = new Date('2000-08-02T09:00:00Z');
const inAMonth = Math.floor(now.getTime() / 1000) + 30 * 86_400;

describe('createReportToken / checkReportToken', () => {
  it('round-trips the dispatchId, the address hash and the expiry', () => {
    const token = createReportToken(keys, { dispatchId: 'adv-2000-08-02-000123', toHash, expiresAt: inAMonth });
    expect(checkReportToken(keys, token, now)).toMatchObject({
      ok: true,
      claims: { dispatchId: 'adv-2000-08-02-000123', toHash, expiresAt: inAMonth },
    });
  });

  it('carries nothing a reader could learn from: no dispatchId, address hash or expiry in clear, and two links differ', () => {
    const claims = { dispatchId: 'adv-2000-08-02-000123', toHash, expiresAt: inAMonth };
    const [a, b] = [createReportToken(keys, claims), createReportToken(keys, claims)];
    expect(a).not.toEqual(b);
    for (const token of [a, b]) {
      const decoded = Buffer.from(token, 'base64url');
      expect(token).not.toContain('adv-2000');
      expect(decoded.toString('latin1')).not.toContain('adv-2000');
      expect(decoded.toString('hex')).not.toContain(toHash);
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    }
  });

  it('refuses a token made with another key, a flipped bit anywhere, a truncated or padded one', () => {
    const token = createReportToken(keys, { dispatchId: 'd1', toHash, expiresAt: inAMonth });
    expect(checkReportToken(otherKeys, token, now)).toEqual({ ok: false, reason: 'forged' });
    const raw = Buffer.from(token, 'base64url');
    for (let i = 1; i < raw.length; i++) {
      const flipped = Buffer.from(raw);
      flipped[i] ^= 0x01;
      expect(checkReportToken(keys, flipped.toString('base64url'), now)).toEqual({ ok: false, reason: 'forged' });
    }
    expect(checkReportToken(keys, token.slice(0, -2), now).ok).toBe(false);
    expect(checkReportToken(keys, `${token}AA`, now).ok).toBe(false);
    expect(checkReportToken(keys, '', now)).toEqual({ ok: false, reason: 'malformed' });
    expect(checkReportToken(keys, 'not/a/token', now)).toEqual({ ok: false, reason: 'malformed' });
    expect(checkReportToken(keys, 'A'.repeat(MAX_TOKEN_CHARS + 1), now)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('expires at its expiry, not before', () => {
    const token = createReportToken(keys, { dispatchId: 'd1', toHash, expiresAt: inAMonth });
    expect(checkReportToken(keys, token, new Date(inAMonth * 1000 - 1)).ok).toBe(true);
    expect(checkReportToken(keys, token, new Date(inAMonth * 1000))).toEqual({ ok: false, reason: 'expired' });
  });

  it('round-trips every contract dispatchId and never accepts a mutation (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/), fc.nat({ max: 2000 }), (dispatchId, position) => {
        const token = createReportToken(keys, { dispatchId, toHash, expiresAt: inAMonth });
        expect(token.length).toBeLessThanOrEqual(MAX_TOKEN_CHARS);
        const check = checkReportToken(keys, token, now);
        expect(check.ok && check.claims.dispatchId).toBe(dispatchId);
        const raw = Buffer.from(token, 'base64url');
        raw[position % raw.length] ^= 0x80;
        expect(checkReportToken(keys, raw.toString('base64url'), now).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses to make a token for something that is not a contract dispatchId or an address hash', () => {
    expect(() => createReportToken(keys, { dispatchId: 'has space', toHash, expiresAt: inAMonth })).toThrow(RangeError);
    expect(() => createReportToken(keys, { dispatchId: 'd1', toHash: 'pat@example.org', expiresAt: inAMonth })).toThrow(RangeError);
  });
});

describe('ReportLinks', () => {
  it('puts only the token in the path of the page URL, valid for 30 days by default', () => {
    const url = new URL(new ReportLinks(keys, 'https://abc.lambda-url.eu-west-1.on.aws/').urlFor('M0001-d1', toHash, now));
    expect(url.origin).toBe('https://abc.lambda-url.eu-west-1.on.aws');
    expect(url.pathname.startsWith(REPORT_PATH_PREFIX)).toBe(true);
    expect(url.search).toBe('');
    const check = checkReportToken(keys, url.pathname.slice(REPORT_PATH_PREFIX.length), now);
    expect(check.ok && check.claims.expiresAt - now.getTime() / 1000).toBe(30 * 86_400);
    expect(url.href).not.toContain('M0001');
  });

  it('refuses a base URL with a query or a fragment, and a lifetime under a minute', () => {
    expect(() => new ReportLinks(keys, 'https://x.example/?a=1')).toThrow(RangeError);
    expect(() => new ReportLinks(keys, 'ftp://x.example/')).toThrow(RangeError);
    expect(() => new ReportLinks(keys, 'https://x.example/', 59)).toThrow(RangeError);
  });
});
