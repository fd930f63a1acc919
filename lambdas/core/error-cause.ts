/** What the logs may say about an unexpected error: its name, message and stack, with addresses and message data taken out. */
export interface ErrorCause {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

// Anything shaped like an e-mail address, whatever the error quoted it from (an item, a request, a value).
const ADDRESS_LIKE = /[^\s@"'`<>()[\]{},;:\\]+@[^\s@"'`<>()[\]{},;:\\]+/g;
const REDACTED = '<redacted>';

/**
 * Describes `error` for a log line. An SDK or runtime error may quote the item or the value it choked
 * on, so every address-like word and every known message value (`secrets`: the `to`, the `data`
 * values) is replaced before it leaves; the stack keeps its frames, which carry no data.
 */
export function describeError(error: unknown, secrets: readonly string[] = []): ErrorCause {
  const known = [...new Set(secrets.filter((s) => s.length >= 3))].sort((a, b) => b.length - a.length);
  const knownValues = known.length > 0 ? new RegExp(known.map(escapeRegExp).join('|'), 'gi') : undefined;
  const scrub = (text: string): string => {
    const withoutAddresses = text.replace(ADDRESS_LIKE, REDACTED);
    return knownValues ? withoutAddresses.replace(knownValues, REDACTED) : withoutAddresses;
  };
  if (error instanceof Error) {
    return { name: error.name, message: scrub(error.message), ...(error.stack ? { stack: scrub(error.stack) } : {}) };
  }
  return { name: typeof error, message: scrub(String(error)) };
}

/** The string values of a message that must never reach a log: its address and every `data` leaf. */
export function messageSecrets(message: { readonly to?: unknown; readonly data?: unknown }): string[] {
  const out: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') out.push(value);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(message.to);
  walk(message.data);
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
