/**
 * The opaque token of the "not for me" link. It is encrypt-then-MAC: AES-256-CTR hides what it
 * carries (a reader of the URL learns nothing: not the dispatchId, not the address hash, not the
 * expiry), and an HMAC-SHA256 tag over everything authenticates it. Both keys are derived (HKDF)
 * from one secret that lives in Secrets Manager and is loaded once at start-up, so making a token
 * is synchronous: the dispatcher makes it between the claim's answer and SendEmail without an await.
 *
 * Layout (then base64url): `version(1) | iv(16) | AES-256-CTR(expiresAt(4, BE) | toHash(16) | dispatchId) | tag(16)`,
 * tag = HMAC-SHA256(macKey, version | iv | ciphertext) truncated to 128 bits.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

const VERSION = 1;
const IV_BYTES = 16;
const TAG_BYTES = 16;
const HASH_BYTES = 16;
const DISPATCH_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TO_HASH = /^[0-9a-f]{32}$/;
/** Longest token: every part at its maximum length. */
export const MAX_TOKEN_CHARS = Math.ceil(((1 + IV_BYTES + 4 + HASH_BYTES + 128 + TAG_BYTES) * 4) / 3);

/** How long a link works after its e-mail was sent. @default 30 days */
export const DEFAULT_REPORT_LINK_TTL_SECONDS = 30 * 86_400;

/** What a token says, once it is proven ours. */
export interface ReportClaims {
  readonly dispatchId: string;
  /** The keyed hash of the address the e-mail was sent to (the ledger's `toHash`). */
  readonly toHash: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

/** The two keys derived from the link secret. Never logged. */
export interface ReportLinkKeys {
  readonly encryption: Buffer;
  readonly mac: Buffer;
}

export type TokenCheck =
  | { readonly ok: true; readonly claims: ReportClaims; readonly tokenId: string }
  | { readonly ok: false; readonly reason: 'malformed' | 'forged' | 'expired' };

/** Derives the encryption and MAC keys from the secret (done once per start). */
export function deriveReportLinkKeys(secret: string): ReportLinkKeys {
  if (secret.length < 16) throw new RangeError('The report link secret is too short');
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', secret, 'mail-dispatch', `not-for-me/${info}`, 32));
  return { encryption: derive('encryption'), mac: derive('mac') };
}

/** Makes a token. Synchronous and cheap (one AES block stream, one HMAC). */
export function createReportToken(keys: ReportLinkKeys, claims: ReportClaims): string {
  if (!DISPATCH_ID.test(claims.dispatchId)) throw new RangeError('dispatchId is not a contract dispatchId');
  if (!TO_HASH.test(claims.toHash)) throw new RangeError('toHash is not an address hash');
  if (!Number.isInteger(claims.expiresAt) || claims.expiresAt < 0 || claims.expiresAt > 0xffffffff)
    throw new RangeError('expiresAt out of range');
  const plain = Buffer.alloc(4 + HASH_BYTES);
  plain.writeUInt32BE(claims.expiresAt, 0);
  Buffer.from(claims.toHash, 'hex').copy(plain, 4);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-ctr', keys.encryption, iv);
  const body = Buffer.concat([
    Buffer.from([VERSION]),
    iv,
    cipher.update(Buffer.concat([plain, Buffer.from(claims.dispatchId, 'ascii')])),
    cipher.final(),
  ]);
  return Buffer.concat([body, tag(keys, body)]).toString('base64url');
}

/**
 * Checks a token: shape, then the tag (before anything is decrypted or trusted), then the expiry.
 * `tokenId` names the token for rate limiting without repeating it (its tag, in hex).
 */
export function checkReportToken(keys: ReportLinkKeys, token: string, now: Date): TokenCheck {
  if (token.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(token)) return { ok: false, reason: 'malformed' };
  const raw = Buffer.from(token, 'base64url');
  if (raw.length < 1 + IV_BYTES + 4 + HASH_BYTES + 1 + TAG_BYTES || raw[0] !== VERSION) return { ok: false, reason: 'malformed' };
  const body = raw.subarray(0, raw.length - TAG_BYTES);
  const given = raw.subarray(raw.length - TAG_BYTES);
  if (!timingSafeEqual(given, tag(keys, body))) return { ok: false, reason: 'forged' };
  const decipher = createDecipheriv('aes-256-ctr', keys.encryption, body.subarray(1, 1 + IV_BYTES));
  const plain = Buffer.concat([decipher.update(body.subarray(1 + IV_BYTES)), decipher.final()]);
  const claims = {
    expiresAt: plain.readUInt32BE(0),
    toHash: plain.subarray(4, 4 + HASH_BYTES).toString('hex'),
    dispatchId: plain.subarray(4 + HASH_BYTES).toString('ascii'),
  };
  // Authentic but not something we make (a key shared with a buggy writer): refuse it all the same.
  if (!DISPATCH_ID.test(claims.dispatchId)) return { ok: false, reason: 'malformed' };
  if (claims.expiresAt * 1000 <= now.getTime()) return { ok: false, reason: 'expired' };
  return { ok: true, claims, tokenId: given.toString('hex') };
}

/** A keyed pseudonym for a value that must not be stored in clear (a source IP for rate limits). */
export function pseudonymOf(keys: ReportLinkKeys, value: string): string {
  return createHmac('sha256', keys.mac).update(`pseudonym:${value}`).digest('hex').slice(0, 32);
}

function tag(keys: ReportLinkKeys, body: Buffer): Buffer {
  return createHmac('sha256', keys.mac).update(body).digest().subarray(0, TAG_BYTES);
}

/** Builds the per-dispatch links the dispatcher puts in each e-mail. */
export class ReportLinks {
  constructor(
    private readonly keys: ReportLinkKeys,
    /** The page's public base URL, e.g. `https://abc.lambda-url.eu-west-1.on.aws/` (a trailing `/` or not). */
    private readonly baseUrl: string,
    private readonly ttlSeconds: number = DEFAULT_REPORT_LINK_TTL_SECONDS,
  ) {
    if (!/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(baseUrl))
      throw new RangeError('The report page base URL must be an http(s) URL without query or fragment');
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 60) throw new RangeError('The report link lifetime must be at least 60 seconds');
  }

  /** The link for one e-mail: `<base>/r/<token>`, valid `ttlSeconds` from `now`. */
  urlFor(dispatchId: string, toHash: string, now: Date): string {
    const token = createReportToken(this.keys, { dispatchId, toHash, expiresAt: Math.floor(now.getTime() / 1000) + this.ttlSeconds });
    return `${this.baseUrl.replace(/\/+$/, '')}${REPORT_PATH_PREFIX}${token}`;
  }
}

/** The page's path for a token. */
export const REPORT_PATH_PREFIX = '/r/';
