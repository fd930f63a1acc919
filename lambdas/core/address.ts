import { createHmac } from 'node:crypto';

/**
 * Addresses are compared as ASCII addr-specs after trimming and ASCII lower-casing. Only ASCII
 * letters are lower-cased: `toLowerCase()` would turn look-alikes such as the Kelvin sign (U+212A)
 * into a plain `k` and let a spoofed registry value match a real address.
 */
export function normaliseAddress(value: string): string {
  return value.trim().replace(/[A-Z]/g, (c) => c.toLowerCase());
}

const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const ADDR_SPEC = new RegExp(`^${ATOM}(?:\\.${ATOM})*@(?:${LABEL}\\.)+(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$`);

export type RecipientParse = { readonly ok: true; readonly address: string } | { readonly ok: false; readonly why: string };

/**
 * Accepts exactly one bare address (no display name, list, comment, quoted local part, CR/LF or
 * non-ASCII character; IDN domains only in their `xn--` form) and returns it normalised.
 */
export function parseRecipient(value: string): RecipientParse {
  if (/[\r\n]/.test(value)) return { ok: false, why: 'contains a line break' };
  const trimmed = value.replace(/^[ \t]+|[ \t]+$/g, '');
  if (trimmed.length === 0) return { ok: false, why: 'is empty' };
  if (/[^\x21-\x7e]/.test(trimmed)) return { ok: false, why: 'is not one bare ASCII address' };
  if (trimmed.length > 254) return { ok: false, why: 'is longer than 254 characters' };
  const at = trimmed.lastIndexOf('@');
  if (at > 64) return { ok: false, why: 'has a local part longer than 64 characters' };
  if (!ADDR_SPEC.test(trimmed)) return { ok: false, why: 'is not one bare address' };
  return { ok: true, address: normaliseAddress(trimmed) };
}

/**
 * The mailbox an address delivers to, for the fan-in guard and the registry's address index:
 * the normalised address with any `+tag` removed from its local part (`Pat+a@Example.org` and
 * `pat+b@example.org` are `pat@example.org`'s mailbox). Over-merging is the safe direction
 * here: it only ever counts more members on one mailbox. The recipient check does not use this:
 * it compares the exact normalised address.
 */
export function mailboxOf(address: string): string {
  const normalised = normaliseAddress(address);
  const at = normalised.lastIndexOf('@');
  if (at < 0) return normalised;
  const local = normalised.slice(0, at);
  const plus = local.indexOf('+');
  return plus < 0 ? normalised : `${local.slice(0, plus)}${normalised.slice(at)}`;
}

/**
 * Keyed hash of a normalised address: what logs, metrics and the ledger carry instead of the
 * address. Keyed so a leaked ledger or log cannot be reversed by hashing a list of addresses.
 */
export function hashAddress(address: string, key: string | Buffer): string {
  return createHmac('sha256', key).update(normaliseAddress(address)).digest('hex').slice(0, 32);
}
