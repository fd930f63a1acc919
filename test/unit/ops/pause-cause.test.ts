import type { PauseCause } from '../../../lambdas/ports';
import { explainPause } from '../../../cli/src/ops/pause-cause';

const at = '2000-08-02T09:20:00Z';
const cause = (patch: Partial<PauseCause>): PauseCause => ({ reason: 'x', by: 'x', at, ...patch });

describe('explainPause', () => {
  it.each<[string, PauseCause, readonly string[] | undefined, RegExp]>([
    [
      'a dispatcher fan-in block',
      cause({ by: 'dispatcher', reason: 'fan-in-limit', addressHash: 'ab12' }),
      [],
      /fan-in limit for address ab12/,
    ],
    ['an SES account pause', cause({ by: 'dispatcher', reason: 'ses-account-paused' }), [], /SES refused/],
    [
      'the breaker on a known alarm',
      cause({ by: 'breaker', reason: 'alarm', alarmName: 'prod-FanInSpike' }),
      ['prod-FanInSpike'],
      /alarm prod-FanInSpike fired/,
    ],
    ['the breaker locally (no alarm list)', cause({ by: 'breaker', reason: 'alarm', alarmName: 'local-FanInSpike' }), undefined, /fired/],
    ['an operator', cause({ by: 'operator:alice', reason: 'drill' }), [], /paused by alice: drill/],
    [
      'the reputation guard on the own bounce rate',
      cause({ by: 'breaker', reason: 'bounce-rate', alarmName: 'prod-BounceRate' }),
      ['prod-BounceRate'],
      /pipeline's own .*hard-bounce rate.*audit --since/,
    ],
    [
      "the reputation guard on SES's complaint rate",
      cause({ by: 'breaker', reason: 'complaint-rate', alarmName: 'prod-SesAccountComplaintRate' }),
      ['prod-SesAccountComplaintRate'],
      /SES's account-level complaint rate/,
    ],
  ])('explains %s', (_name, c, alarms, expected) => {
    expect(explainPause(c, alarms)).toMatch(expected);
  });

  it.each<[string, PauseCause | undefined, readonly string[] | undefined]>([
    ['no cause', undefined, []],
    ['an unknown writer', cause({ by: 'unknown', reason: 'unknown' }), []],
    [
      'the breaker on an alarm this stack does not have',
      cause({ by: 'breaker', reason: 'alarm', alarmName: 'other-FanInSpike' }),
      ['prod-FanInSpike'],
    ],
    ['the breaker without an alarm name', cause({ by: 'breaker', reason: 'alarm' }), []],
    [
      'a reputation pause naming an alarm this stack does not have',
      cause({ by: 'breaker', reason: 'bounce-rate', alarmName: 'other-BounceRate' }),
      ['prod-BounceRate'],
    ],
    ['a dispatcher reason this version does not know', cause({ by: 'dispatcher', reason: 'cosmic-rays' }), []],
    ['an operator without a name', cause({ by: 'operator:', reason: 'drill' }), []],
  ])('does not understand %s', (_name, c, alarms) => {
    expect(explainPause(c, alarms)).toBeUndefined();
  });
});
