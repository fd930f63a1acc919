/**
 * SES message tag values allow only `[A-Za-z0-9_-]`, a dispatchId also `.` and `:`. This escapes
 * them reversibly (`_` → `_u`, `.` → `_d`, `:` → `_c`); 128 characters become at most 256, the
 * tag limit.
 */
export const DISPATCH_TAG_NAME = 'dispatchId';

const ESCAPES: Record<string, string> = { _: '_u', '.': '_d', ':': '_c' };
const UNESCAPES: Record<string, string> = { u: '_', d: '.', c: ':' };

export function encodeDispatchTag(dispatchId: string): string {
  return dispatchId.replace(/[_.:]/g, (c) => ESCAPES[c]);
}

/** Returns undefined for a value that is not a well-formed encoding. */
export function decodeDispatchTag(value: string): string | undefined {
  if (!/^(?:[A-Za-z0-9-]|_[udc])*$/.test(value)) return undefined;
  return value.replace(/_([udc])/g, (_m, c: string) => UNESCAPES[c]);
}
