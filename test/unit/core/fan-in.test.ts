import { EMPTY_FAN_IN, fanInExpiresAt, membersInSpan, planFanIn, type FanInState } from '../../../lambdas/core/fan-in';

const config = { fanInLimit: 3, fanInWindowSeconds: 86_400 };
const at = (iso: string) => Date.parse(iso);
const state = (seen: Record<string, string>, version = Object.keys(seen).length): FanInState => ({
  version,
  seen: Object.fromEntries(Object.entries(seen).map(([id, iso]) => [id, at(iso)])),
});

describe('fan-in span', () => {
  it('counts a first member into an empty counter, as a join on version 0', () => {
    const now = new Date('2000-08-02T09:00:00Z');
    expect(planFanIn(EMPTY_FAN_IN, 'M1', now, config)).toEqual({
      count: 1,
      allowed: true,
      claim: { kind: 'join', version: 0, atMs: now.getTime(), prune: [] },
    });
  });

  it('12.2a: a burst across midnight is one burst', () => {
    const burst = state({ A: '2000-08-02T23:59:56Z', B: '2000-08-02T23:59:58Z', C: '2000-08-03T00:00:00Z' });
    expect(planFanIn(burst, 'D', new Date('2000-08-03T00:00:02Z'), config)).toMatchObject({ count: 4, allowed: false });
  });

  it.each<[string, string, number, boolean]>([
    ['just inside one window after the oldest', '2000-08-03T08:59:59.999Z', 4, false],
    ['exactly one window after the oldest (it has left the span)', '2000-08-03T09:00:00Z', 3, true],
    ['a window after the second', '2000-08-03T09:05:00Z', 2, true],
  ])('12.2a: counts over the last window, not the calendar day: %s', (_name, now, count, allowed) => {
    const day1 = state({ A: '2000-08-02T09:00:00Z', B: '2000-08-02T09:05:00Z', C: '2000-08-02T09:10:00Z' });
    expect(planFanIn(day1, 'D', new Date(now), config)).toMatchObject({ count, allowed });
  });

  it('refreshes a member already in the span without a version, even at the limit', () => {
    const now = new Date('2000-08-02T12:00:00Z');
    const full = state({ A: '2000-08-02T09:00:00Z', B: '2000-08-02T10:00:00Z', C: '2000-08-02T11:00:00Z' });
    expect(planFanIn(full, 'B', now, config)).toEqual({
      count: 3,
      allowed: true,
      claim: { kind: 'refresh', cutoffMs: now.getTime() - 86_400_000, atMs: now.getTime() },
    });
  });

  it('lets a member that left the span join again, pruning the members that left', () => {
    const now = new Date('2000-08-04T12:00:00Z');
    const old = state({ A: '2000-08-02T09:00:00Z', B: '2000-08-04T10:00:00Z', C: '2000-08-01T11:00:00Z' }, 7);
    expect(planFanIn(old, 'A', now, config)).toEqual({
      count: 2,
      allowed: true,
      claim: { kind: 'join', version: 7, atMs: now.getTime(), prune: ['C'] },
    });
    expect(membersInSpan(old, now, config.fanInWindowSeconds)).toEqual(['B']);
  });

  it('keeps a counter until every member in it has left the span', () => {
    expect(fanInExpiresAt(at('2000-08-02T09:00:00.500Z'), 86_400)).toBeGreaterThan(at('2000-08-03T09:00:00.500Z') / 1000);
  });
});
