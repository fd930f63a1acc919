import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { parseDispatchMessage } from '../../../lambdas/core/message';
import { TEMPLATE_NAMES } from '../../../lambdas/core/templates';
import { dispatchMessageJsonSchema, renderDispatchMessageJsonSchema } from '../../../publisher/message-json-schema';

const SCHEMA_FILE = join(__dirname, '..', '..', '..', 'docs', 'dispatch-message.schema.json');

describe('dispatchMessageJsonSchema', () => {
  it('matches the committed docs/dispatch-message.schema.json (run `npm run schema:generate` if not)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(renderDispatchMessageJsonSchema());
  });

  it('lists the template allow-list and each template’s data keys', () => {
    const schema = dispatchMessageJsonSchema() as { properties: { template: { enum: string[] } }; allOf: { if: unknown; then: unknown }[] };
    expect(schema.properties.template.enum).toEqual(TEMPLATE_NAMES);
    expect(schema.allOf).toHaveLength(TEMPLATE_NAMES.length);
    expect(JSON.stringify(schema.allOf[0])).toContain('"firstName":{"type":"string","maxLength":64}');
  });

  describe('agrees with the dispatcher’s parser', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: false });
    addFormats(ajv);
    const validate = ajv.compile(dispatchMessageJsonSchema());
    const good = { dispatchId: 'd-1', memberId: 'M1', to: 'pat@example.org', template: 'advice-nurse-reply', data: { firstName: 'Pat' } };

    it.each([
      ['the contract example', good],
      ['no data', { ...good, data: undefined }],
      ['a padded, upper-case address', { ...good, to: ' \tPat@Example.ORG ' }],
      ['an xn-- domain', { ...good, to: 'pat@xn--bcher-kva.example' }],
      ['a requestedAt with offset', { ...good, requestedAt: '2000-08-02T09:00:00+02:00' }],
      ['a display name', { ...good, to: 'Pat <pat@example.org>' }],
      ['two recipients', { ...good, to: 'pat@example.org,eve@example.org' }],
      ['a line break', { ...good, to: 'pat@example.org\n' }],
      ['a 65-char local part', { ...good, to: `${'a'.repeat(65)}@example.org` }],
      ['a 64-char local part', { ...good, to: `${'a'.repeat(64)}@example.org` }],
      ['a 255-char address', { ...good, to: `a@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(60)}.org` }],
      ['an unknown template', { ...good, template: 'lab-results' }],
      ['an undeclared data key', { ...good, data: { diagnosis: 'x' } }],
      ['a publisher-set dispatchRef', { ...good, data: { dispatchRef: 'x' } }],
      ['a 65-char firstName', { ...good, data: { firstName: 'x'.repeat(65) } }],
      ['a cc', { ...good, cc: 'eve@example.org' }],
      ['a numeric memberId', { ...good, memberId: 1 }],
    ])('on %s', (_, input) => {
      const body = JSON.stringify(input);
      expect(validate(JSON.parse(body))).toBe(parseDispatchMessage(body).ok);
    });

    it('on generated messages (property)', () => {
      let accepted = 0;
      // Each part is mostly valid, so most messages test one or two rules at a time.
      const mostly = <T, U>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<U>) =>
        fc.oneof({ arbitrary: valid, weight: 4 }, { arbitrary: other, weight: 1 });
      const atom = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+\/=?^_`{|}~-]{1,30}$/);
      const localPart = fc.array(atom, { minLength: 1, maxLength: 3 }).map((atoms) => atoms.join('.'));
      const label = mostly(fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/), fc.stringMatching(/^[A-Za-z0-9-]{1,64}$/));
      const tld = mostly(
        fc.stringMatching(/^[A-Za-z]{2,6}$/),
        fc.oneof(fc.stringMatching(/^[A-Za-z]{1,64}$/), fc.stringMatching(/^xn--[A-Za-z0-9-]{0,60}$/), fc.stringMatching(/^[0-9]{2,3}$/)),
      );
      const domain = fc.tuple(fc.array(label, { maxLength: 5 }), tld).map(([labels, last]) => [...labels, last].join('.'));
      const space = (ends: string[]) => mostly(fc.constant(''), fc.constantFrom(...ends));
      const address = fc
        .tuple(space([' ', '\t', '\n']), localPart, domain, space([' ', '\r\n']))
        .map(([a, l, d, z]) => `${a}${l}@${d}${z}`);
      const spoiled = fc
        .tuple(address, fc.nat(), fc.constantFrom(' ', '<', '>', ',', '"', '(', '@', '\u0430', '..', '\r'))
        .map(([text, at, bad]) => text.slice(0, at % (text.length + 1)) + bad + text.slice(at % (text.length + 1)));
      const to = fc.oneof({ arbitrary: address, weight: 3 }, { arbitrary: spoiled, weight: 1 }, { arbitrary: fc.string(), weight: 1 });
      // data values from the Basic Multilingual Plane: the schema counts code points, the parser UTF-16 units.
      const value = fc.string({ unit: fc.constantFrom('a', 'é', '\u4e00', ' '), maxLength: 70 });
      const message = fc
        .record(
          {
            dispatchId: mostly(
              fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/),
              fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:#-]{0,130}$/), fc.integer()),
            ),
            memberId: mostly(
              fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/),
              fc.oneof(fc.stringMatching(/^[A-Za-z0-9._#-]{0,66}$/), fc.constant(null)),
            ),
            to,
            template: mostly(fc.constantFrom(...TEMPLATE_NAMES), fc.constantFrom('lab-results', '', 'Advice-Nurse-Reply')),
            data: mostly(
              fc.dictionary(fc.constant('firstName'), value, { maxKeys: 1 }),
              fc.oneof(
                fc.dictionary(fc.constantFrom('firstName', 'dispatchRef', 'x'), value, { maxKeys: 2 }),
                fc.constant([]),
                fc.constant('x'),
              ),
            ),
            requestedAt: mostly(
              fc.constantFrom('2000-08-02T09:00:00Z', '2000-08-02T09:00:00.123+05:30'),
              fc.constantFrom('2000-02-30T09:00:00Z', '2000-08-02', 'now', '2000-08-02T09:00:00'),
            ),
            bcc: fc.string(),
          },
          { requiredKeys: ['dispatchId', 'memberId', 'to', 'template'] },
        )
        .map((m) => (Math.abs(JSON.stringify(m).length % 4) === 0 ? m : { ...m, bcc: undefined }));
      fc.assert(
        fc.property(message, (input) => {
          const body = JSON.stringify(input);
          const ok = parseDispatchMessage(body).ok;
          accepted += ok ? 1 : 0;
          expect(validate(JSON.parse(body))).toBe(ok);
        }),
        { numRuns: 2000 },
      );
      // Both sides are exercised: a fair share of the generated messages is valid.
      expect(accepted).toBeGreaterThan(100);
    });
  });
});
