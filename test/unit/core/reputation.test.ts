import { PauseReason } from '../../../lambdas/core/outcomes';
import {
  checkReputationSettings,
  measureReputation,
  pauseReasonOfAlarm,
  REPUTATION_DEFAULTS,
  type ReputationCounts,
} from '../../../lambdas/core/reputation';

const counts = (
  sends: number,
  bounces: number,
  complaints: number,
  previous = { sends: 0, bounces: 0, complaints: 0 },
): ReputationCounts => ({ sends, bounces, complaints, previous });

describe('measureReputation', () => {
  it.each<[string, ReputationCounts, string[]]>([
    ['nothing sent', counts(0, 0, 0), []],
    ['4 % hard bounces over fewer sends than the window: not judged yet', counts(1999, 80, 0), []],
    ['3.95 % over the window: below 4 %', counts(2000, 79, 0), []],
    ['4 % over the window: at the threshold', counts(2000, 80, 0), ['bounce']],
    ['bounces of the previous window still count', counts(100, 0, 0, { sends: 2000, bounces: 84, complaints: 0 }), ['bounce']],
    ['0.05 % complaints: below 0.08 %', counts(2000, 0, 1), []],
    ['0.1 % complaints', counts(2000, 0, 2), ['complaint']],
    ['both at once', counts(2000, 100, 2), ['bounce', 'complaint']],
  ])('%s', (_name, c, breaches) => {
    expect(measureReputation(c, REPUTATION_DEFAULTS).breaches).toEqual(breaches);
  });

  it('reports the rates in percent over both windows', () => {
    expect(measureReputation(counts(1000, 10, 1, { sends: 1000, bounces: 30, complaints: 1 }), REPUTATION_DEFAULTS)).toEqual({
      sends: 2000,
      bounceRatePercent: 2,
      complaintRatePercent: 0.1,
      breaches: ['complaint'],
    });
  });
});

describe('checkReputationSettings', () => {
  it('accepts the defaults', () => expect(checkReputationSettings(REPUTATION_DEFAULTS)).toEqual([]));
  it.each([
    [{ bounceRatePercent: 5 }, /bounceRatePercent must be a number from 0.5 to 4.9/],
    [{ complaintRatePercent: 0.1 }, /complaintRatePercent must be a number from 0.01 to 0.09/],
    [{ windowSends: 99 }, /windowSends must be an integer from 100/],
    [{ bounceRatePercent: Number.NaN }, /bounceRatePercent/],
  ])('refuses %j', (patch, message) => {
    expect(checkReputationSettings({ ...REPUTATION_DEFAULTS, ...patch }).join('; ')).toMatch(message);
  });
});

describe('pauseReasonOfAlarm', () => {
  it.each([
    ['prod-BounceRate', PauseReason.BounceRate],
    ['prod-SesAccountBounceRate', PauseReason.BounceRate],
    ['prod-ComplaintRate', PauseReason.ComplaintRate],
    ['mail-dispatch-local-SesAccountComplaintRate', PauseReason.ComplaintRate],
    ['prod-FanInSpike', PauseReason.Alarm],
    ['dispatcher:fan-in-limit', PauseReason.Alarm],
    ['', PauseReason.Alarm],
    ['prod-constructor', PauseReason.Alarm],
  ])('%s → %s', (name, reason) => expect(pauseReasonOfAlarm(name)).toBe(reason));
});
