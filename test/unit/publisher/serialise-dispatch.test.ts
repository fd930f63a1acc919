import fc from 'fast-check';
import { MAX_BODY_BYTES, parseDispatchMessage } from '../../../lambdas/core/message';
import { serialiseDispatch } from '../../../publisher/serialise-dispatch';
import { CONTRACT_EXAMPLE } from '../../support/contract-example';

const good = { ...CONTRACT_EXAMPLE, data: { ...CONTRACT_EXAMPLE.data } };
const message = (patch: Record<string, unknown>) => ({ ...good, ...patch }) as never;

describe('serialiseDispatch', () => {
  it('keeps a valid message as the exact JSON body the dispatcher will parse', () => {
    const result = serialiseDispatch(good, 7);
    expect(result).toEqual({
      index: 7,
      dispatchId: good.dispatchId,
      body: JSON.stringify(good),
      bytes: Buffer.byteLength(JSON.stringify(good)),
    });
  });

  it.each([
    ['a display name', { to: 'Pat <pat@example.org>' }, 'invalid-message', 'to'],
    ['two recipients', { to: 'pat@example.org, eve@example.org' }, 'invalid-message', 'to'],
    ['a CR/LF header injection', { to: 'pat@example.org\r\nBcc: eve@example.org' }, 'invalid-message', 'to'],
    ['an unknown key (cc)', { cc: 'eve@example.org' }, 'invalid-message', 'cc'],
    ['a missing memberId', { memberId: undefined }, 'invalid-message', 'memberId'],
    ['a data key the template does not declare', { data: { diagnosis: 'x' } }, 'invalid-message', 'data'],
    ['a publisher-set dispatchRef', { data: { dispatchRef: 'x' } }, 'invalid-message', 'data'],
    ['an unknown template', { template: 'lab-results' }, 'unknown-template', 'template'],
    ['a body over MAX_BODY_BYTES', { data: { firstName: 'x'.repeat(MAX_BODY_BYTES) } }, 'too-large', undefined],
  ])('refuses %s with the dispatcher’s reason and field', (_, patch, reason, field) => {
    const result = serialiseDispatch(message(patch), 0);
    const parsed = parseDispatchMessage(JSON.stringify(message(patch)));
    expect(parsed.ok).toBe(false);
    expect(result).toMatchObject({ ok: false, reason, retryable: false, attempts: 0 });
    expect('field' in result ? result.field : undefined).toBe(field);
    if (!parsed.ok) expect(result).toMatchObject({ reason: parsed.reason, detail: parsed.detail });
  });

  it('19.13: keeps the valid dispatchId of a too-large message (the portal matches results by it)', () => {
    const big = message({ data: { firstName: 'x'.repeat(MAX_BODY_BYTES) } });
    expect(serialiseDispatch(big, 3)).toMatchObject({ index: 3, ok: false, reason: 'too-large', dispatchId: good.dispatchId });
    expect(serialiseDispatch(message({ dispatchId: 'a b', data: { firstName: 'x'.repeat(MAX_BODY_BYTES) } }), 0)).toMatchObject({
      dispatchId: undefined,
    });
  });

  it('names the dispatchId of a refused message only when it is well-formed', () => {
    expect(serialiseDispatch(message({ to: 'nobody' }), 0)).toMatchObject({ ok: false, dispatchId: good.dispatchId });
    expect(serialiseDispatch(message({ dispatchId: 'pat@example.org' }), 0)).toMatchObject({
      ok: false,
      dispatchId: undefined,
      field: 'dispatchId',
    });
  });

  it('never puts the offending value in the detail', () => {
    const result = serialiseDispatch(message({ to: 'Secret Name <secret@example.org>' }), 0);
    expect(JSON.stringify(result)).not.toMatch(/secret/i);
  });

  it.each([
    ['undefined', undefined],
    ['a BigInt', { ...good, data: { firstName: BigInt(1) } }],
    [
      'a circular structure',
      (() => {
        const circular: Record<string, unknown> = { ...good };
        circular.self = circular;
        return circular;
      })(),
    ],
  ])('refuses %s as invalid-json', (_, value) => {
    expect(serialiseDispatch(value as never, 3)).toMatchObject({ index: 3, ok: false, reason: 'invalid-json', retryable: false });
  });

  it('escapes the two characters SQS refuses, keeping the same JSON value', () => {
    const result = serialiseDispatch(message({ data: { firstName: 'A\uFFFEB\uFFFF' } }), 0);
    if (!('body' in result)) throw new Error('expected a body');
    expect(result.body).not.toMatch(/[\uFFFE\uFFFF]/);
    expect(result.body).toContain('\\ufffe');
    expect(JSON.parse(result.body).data.firstName).toBe('A\uFFFEB\uFFFF');
  });

  it('refuses exactly what the dispatcher refuses, with the same reason and field (property)', () => {
    const field = fc.oneof(
      fc.string(),
      fc.constantFrom('pat@example.org', ' Pat@Example.org ', 'a@b', 'x\r\n@y.org', '"q"@x.org'),
      fc.integer(),
      fc.constant(undefined),
    );
    const arbitrary = fc.record(
      {
        dispatchId: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{1,130}$/), field),
        memberId: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{1,66}$/), field),
        to: field,
        template: fc.oneof(fc.constantFrom('advice-nurse-reply', 'appointment-reminder', 'lab-results'), field),
        data: fc.oneof(
          fc.dictionary(fc.constantFrom('firstName', 'dispatchRef', 'diagnosis'), fc.string({ maxLength: 70 })),
          fc.anything(),
        ),
        requestedAt: fc.oneof(fc.constantFrom('2000-08-02T09:00:00Z', '2000-08-02T09:00:00+02:00', 'yesterday'), field),
        cc: field,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(arbitrary, (input) => {
        const result = serialiseDispatch(input as never, 0);
        const parsed = parseDispatchMessage(JSON.stringify(input));
        expect('body' in result).toBe(parsed.ok);
        if (!parsed.ok) expect(result).toMatchObject({ reason: parsed.reason, field: parsed.field, dispatchId: parsed.dispatchId });
      }),
      { numRuns: 500 },
    );
  });
});
