import { parseIsoInstant } from '../../../cli/src/ops/iso-instant';

/** Finding (issue 19, item 4): `--since 2026-02-30` became 2 March; a time without offset was read in the machine's zone. */
describe('parseIsoInstant', () => {
  const zone = process.env.TZ;
  afterAll(() => (process.env.TZ = zone));

  it.each(['UTC', 'America/Los_Angeles', 'Asia/Kolkata'])('reads the same instant whatever the machine zone (%s)', (tz) => {
    process.env.TZ = tz;
    expect(parseIsoInstant('2026-02-03')).toEqual({ ok: true, date: new Date(Date.UTC(2026, 1, 3)) });
    expect(parseIsoInstant('2026-02-03T09:30:00Z')).toEqual({ ok: true, date: new Date(Date.UTC(2026, 1, 3, 9, 30)) });
    expect(parseIsoInstant('2026-02-03T09:30:15.250+01:00')).toEqual({ ok: true, date: new Date(Date.UTC(2026, 1, 3, 8, 30, 15, 250)) });
    expect(parseIsoInstant('2026-02-03T09:30-08:00')).toEqual({ ok: true, date: new Date(Date.UTC(2026, 1, 3, 17, 30)) });
    expect(parseIsoInstant('2024-02-29')).toEqual({ ok: true, date: new Date(Date.UTC(2024, 1, 29)) });
  });

  it.each([
    ['2026-02-30', 'not a date in the calendar'],
    ['2025-02-29', 'not a date in the calendar'],
    ['2026-13-01', 'not a date in the calendar'],
    ['2026-02-03T24:00:00Z', 'not a time of day'],
    ['2026-02-03T09:61Z', 'not a time of day'],
    ['2026-02-03T09:00:00', 'has no offset'],
    ['2026-02-03 09:00', 'has no offset'],
    ['2026-02-03T09:00:00+25:00', 'not a valid offset'],
    ['yesterday', 'is not ISO 8601'],
    ['2026-2-3', 'is not ISO 8601'],
    ['1770000000000', 'is not ISO 8601'],
    ['Feb 3 2026', 'is not ISO 8601'],
  ])('refuses %s (%s)', (value, why) => {
    const parsed = parseIsoInstant(value);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.why).toContain(why);
  });
});
