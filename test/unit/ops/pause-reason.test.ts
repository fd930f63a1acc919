import fc from 'fast-check';
import { UsageError } from '../../../cli/src/ops/errors';
import { pausePipeline } from '../../../cli/src/ops/pause';
import { explainPause } from '../../../cli/src/ops/pause-cause';
import type { OpsTarget } from '../../../cli/src/ops/target';
import { InMemoryPauseSwitch } from '../../../local/in-memory-ports';

/** Finding (issue 19, item 9): `pause --reason` stored an address and an empty reason (which resume then refused). */
describe('pause --reason', () => {
  const targetWith = (pauseSwitch = new InMemoryPauseSwitch()) => ({ target: { pauseSwitch } as unknown as OpsTarget, pauseSwitch });
  const now = new Date('2000-08-02T09:00:00Z');

  it.each([
    ['an empty reason', '', 'is empty'],
    ['a blank reason', '   ', 'is empty'],
    ['an address', 'member pat@example.org called', 'looks like an e-mail address'],
    ['an address in angle brackets', 'from <Pat.Q@Example.ORG>', 'looks like an e-mail address'],
  ])('refuses %s, says why, and sets nothing', async (_name, reason, why) => {
    const { target, pauseSwitch } = targetWith();
    const attempt = pausePipeline(target, { reason, operator: 'dana', now });
    await expect(attempt).rejects.toThrow(UsageError);
    await expect(pausePipeline(target, { reason, operator: 'dana', now })).rejects.toThrow(why);
    expect(pauseSwitch.state).toEqual({ paused: false });
  });

  it('stores an accepted reason trimmed, and resume understands every reason pause accepts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 40 }), async (reason) => {
        const { target, pauseSwitch } = targetWith();
        try {
          await pausePipeline(target, { reason, operator: 'dana', now });
        } catch (error) {
          expect(error).toBeInstanceOf(UsageError);
          return;
        }
        const cause = pauseSwitch.state.paused ? pauseSwitch.state.cause : undefined;
        expect(cause?.reason).toBe(reason.trim());
        expect(explainPause(cause, [])).toBe(`paused by dana: ${reason.trim()}`);
      }),
    );
  });
});
