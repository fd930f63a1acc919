import fc from 'fast-check';
import { decodeDispatchTag, encodeDispatchTag } from '../../../lambdas/core/dispatch-tag';
import { DISPATCH_ID_PATTERN } from '../../../lambdas/core/message';

describe('encodeDispatchTag', () => {
  const dispatchId = fc.stringMatching(DISPATCH_ID_PATTERN);

  it('fits SES tag values (ASCII letters, digits, _ and -, ≤ 256) and round-trips', () => {
    fc.assert(
      fc.property(dispatchId, (id) => {
        const tag = encodeDispatchTag(id);
        expect(tag).toMatch(/^[A-Za-z0-9_-]{1,256}$/);
        expect(decodeDispatchTag(tag)).toBe(id);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a value that no dispatchId encodes to', () => {
    expect(decodeDispatchTag('a_x')).toBeUndefined();
    expect(decodeDispatchTag('a.b')).toBeUndefined();
  });
});
