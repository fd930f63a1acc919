import { MAX_BODY_BYTES, parseDispatchMessage } from '../../../lambdas/core/message';
import { CONTRACT_EXAMPLE } from '../../support/contract-example';

const good = { ...CONTRACT_EXAMPLE, data: { ...CONTRACT_EXAMPLE.data } };
const body = (patch: Record<string, unknown>) => JSON.stringify({ ...good, ...patch });

describe('parseDispatchMessage', () => {
  it('accepts the contract example and normalises the address', () => {
    const parsed = parseDispatchMessage(body({ to: '  Pat@Example.ORG\t' }));
    expect(parsed).toEqual({ ok: true, message: { ...good, to: 'pat@example.org' } });
  });

  it.each([
    ['not json', 'not json', 'invalid-json', undefined],
    ['a JSON array', '[]', 'invalid-message', 'body'],
    ['a numeric dispatchId', body({ dispatchId: 1 }), 'invalid-message', 'dispatchId'],
    ['a dispatchId with #', body({ dispatchId: 'a#b' }), 'invalid-message', 'dispatchId'],
    ['a 129-char dispatchId', body({ dispatchId: 'a'.repeat(129) }), 'invalid-message', 'dispatchId'],
    ['a missing memberId', body({ memberId: undefined }), 'invalid-message', 'memberId'],
    ['a display name', body({ to: 'Pat <pat@example.org>' }), 'invalid-message', 'to'],
    ['two recipients', body({ to: 'pat@example.org, eve@example.org' }), 'invalid-message', 'to'],
    ['a recipient list', body({ to: ['pat@example.org'] }), 'invalid-message', 'to'],
    ['a CR/LF header injection', body({ to: 'pat@example.org\r\nBcc: eve@example.org' }), 'invalid-message', 'to'],
    ['a trailing line break', body({ to: 'pat@example.org\n' }), 'invalid-message', 'to'],
    ['a quoted local part', body({ to: '"pat"@example.org' }), 'invalid-message', 'to'],
    ['a comment', body({ to: 'pat(x)@example.org' }), 'invalid-message', 'to'],
    ['a Cyrillic look-alike', body({ to: 'p\u0430t@example.org' }), 'invalid-message', 'to'],
    ['an unknown key (cc)', body({ cc: 'eve@example.org' }), 'invalid-message', 'cc'],
    ['a nested data value', body({ data: { firstName: { x: 1 } } }), 'invalid-message', 'data'],
    ['a data key the template does not declare', body({ data: { diagnosis: 'x' } }), 'invalid-message', 'data'],
    ['a publisher-set dispatchRef', body({ data: { dispatchRef: 'x' } }), 'invalid-message', 'data'],
    ['a data value over its maximum', body({ data: { firstName: 'x'.repeat(65) } }), 'invalid-message', 'data'],
    ['a bad requestedAt', body({ requestedAt: 'yesterday' }), 'invalid-message', 'requestedAt'],
    ['an unknown template', body({ template: 'lab-results' }), 'unknown-template', 'template'],
    ['a body over 256 KiB', body({ data: { firstName: 'x'.repeat(MAX_BODY_BYTES) } }), 'too-large', undefined],
  ])('rejects %s', (_name, input, reason, field) => {
    const parsed = parseDispatchMessage(input);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.reason).toBe(reason);
    expect(parsed.field).toBe(field);
  });

  it('keeps well-formed ids of a rejected body for the ledger, never the address', () => {
    const parsed = parseDispatchMessage(body({ to: 'Pat <pat@example.org>' }));
    expect(parsed).toMatchObject({ ok: false, dispatchId: good.dispatchId, memberId: good.memberId });
    expect(JSON.stringify(parsed)).not.toContain('pat@example.org');
  });
});

describe('19.13: rejection details in words (zod/mini says "Invalid input" for everything)', () => {
  const base = { dispatchId: 'd-1', memberId: 'M1', to: 'pat@example.org', template: 'advice-nurse-reply', data: { firstName: 'Pat' } };
  it.each([
    ['an unknown field', { ...base, cc: 'eve@example.org' }, 'cc', 'unknown field cc'],
    ['a missing field', { ...base, to: undefined }, 'to', 'to is required'],
    ['a wrong type', { ...base, dispatchId: 5 }, 'dispatchId', 'dispatchId must be a string'],
    ['data not an object', { ...base, data: 'x' }, 'data', 'data must be an object'],
    [
      'a date-time without an offset',
      { ...base, requestedAt: 'yesterday' },
      'requestedAt',
      'requestedAt is not a valid ISO 8601 date-time with an offset',
    ],
  ])('%s', (_name, input, field, detail) => {
    const parsed = parseDispatchMessage(JSON.stringify(input));
    expect(parsed).toMatchObject({ ok: false, reason: 'invalid-message', field, detail });
    expect(parsed.ok ? '' : parsed.detail).not.toMatch(/Invalid input/);
  });
});
