import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { KNOWN_OUTCOME_EVENTS, outcomeEventJsonSchema, parseOutcomeEvent } from '../../../publisher/index';
import { renderOutcomeEventJsonSchema } from '../../../publisher/outcome-event-json-schema';

const SCHEMA_FILE = join(__dirname, '..', '..', '..', 'docs', 'outcome-event.schema.json');

const detail = {
  schemaVersion: 1,
  outcomeId: 'd1#v3',
  version: 3,
  dispatchId: 'd1',
  memberId: 'M1',
  event: 'bounced',
  reason: 'permanent',
  bounceSubType: 'NoEmail',
  template: 'advice-nurse-reply',
  at: '2000-08-02T09:05:00.000Z',
  recordedAt: '2000-08-02T09:05:02.000Z',
};
const envelope = {
  version: '0',
  id: 'e-1',
  'detail-type': 'Dispatch Outcome',
  source: 'mail-dispatch',
  account: '1',
  time: '2000-08-02T09:05:03Z',
  region: 'eu-west-2',
  resources: [],
  detail,
};

describe('outcomeEventJsonSchema', () => {
  it('matches the committed docs/outcome-event.schema.json (run `npm run schema:generate` if not)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(renderOutcomeEventJsonSchema());
  });

  it('lists every event name the publisher knows, and still admits names added later', () => {
    const text = JSON.stringify(outcomeEventJsonSchema());
    for (const name of KNOWN_OUTCOME_EVENTS) expect(text).toContain(`"${name}"`);
    expect(text).toContain('^[a-z][a-z0-9-]{0,39}$');
  });

  describe('agrees with parseOutcomeEvent (the typed parser mail-dispatch/publisher exports)', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: false });
    addFormats(ajv);
    const validate = ajv.compile(outcomeEventJsonSchema());

    it.each([
      ['a bounce as an SQS target receives it', envelope],
      [
        'a rejected body without a dispatchId',
        {
          ...envelope,
          detail: { ...detail, dispatchId: null, memberId: null, event: 'rejected', reason: 'invalid-json', bounceSubType: undefined },
        },
      ],
      ['an event name added later', { ...envelope, detail: { ...detail, event: 'reported-not-mine' } }],
      ['an address in reason', { ...envelope, detail: { ...detail, reason: 'pat@example.org' } }],
      ['an address hash in a field', { ...envelope, detail: { ...detail, bounceSubType: '0123456789abcdef0123456789abcdef' } }],
      ['template data', { ...envelope, detail: { ...detail, data: { firstName: 'Pat' } } }],
      ['another source', { ...envelope, source: 'portal' }],
      ['another schema version', { ...envelope, detail: { ...detail, schemaVersion: 2 } }],
      ['a time without an offset', { ...envelope, detail: { ...detail, at: '2000-08-02T09:05:00' } }],
      ['version 0', { ...envelope, detail: { ...detail, version: 0 } }],
      ['an upper-case event name', { ...envelope, detail: { ...detail, event: 'Bounced' } }],
      ['no detail', { ...envelope, detail: undefined }],
    ])('on %s', (_, input) => {
      const body = JSON.parse(JSON.stringify(input));
      expect(validate(body)).toBe(parseOutcomeEvent(JSON.stringify(input)).ok);
    });

    it('on generated events (property)', () => {
      let accepted = 0;
      const mostly = <T, U>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<U>) =>
        fc.oneof({ arbitrary: valid, weight: 5 }, { arbitrary: other, weight: 1 });
      const safe = mostly(
        fc.stringMatching(/^[A-Za-z0-9._:+=/#-]{1,20}$/),
        fc.oneof(fc.string(), fc.emailAddress(), fc.constant('0123456789abcdef0123456789abcdef')),
      );
      const time = mostly(
        fc.constantFrom('2000-08-02T09:00:00Z', '2000-08-02T09:00:00.123+05:30'),
        fc.constantFrom('2000-08-02', 'now', '2000-08-02T09:00:00', ''),
      );
      const generated = fc
        .record(
          {
            schemaVersion: mostly(fc.constant(1), fc.constantFrom(0, 2, '1')),
            outcomeId: mostly(fc.stringMatching(/^[A-Za-z0-9._:#-]{1,40}$/), fc.string()),
            version: mostly(fc.integer({ min: 1, max: 99 }), fc.oneof(fc.constant(0), fc.constant(1.5), fc.constant('2'))),
            dispatchId: mostly(
              fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{1,40}$/), fc.constant(null)),
              fc.stringMatching(/^[A-Za-z0-9#@]{0,3}$/),
            ),
            memberId: mostly(fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/), fc.constant(null)), fc.constant(7)),
            event: mostly(fc.constantFrom(...KNOWN_OUTCOME_EVENTS), fc.oneof(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), fc.string())),
            reason: safe,
            template: safe,
            at: time,
            sentAt: time,
            treatedAsPermanent: mostly(fc.boolean(), fc.constant('yes')),
            extra: fc.string(),
          },
          { requiredKeys: ['schemaVersion', 'outcomeId', 'version', 'dispatchId', 'memberId', 'event', 'at'] },
        )
        .map((d) => (JSON.stringify(d).length % 5 === 0 ? d : { ...d, extra: undefined }));
      fc.assert(
        fc.property(generated, (event) => {
          const body = JSON.stringify({ ...envelope, detail: event });
          const ok = parseOutcomeEvent(body).ok;
          accepted += ok ? 1 : 0;
          expect(validate(JSON.parse(body))).toBe(ok);
        }),
        { numRuns: 2000 },
      );
      expect(accepted).toBeGreaterThan(100);
    });
  });
});
