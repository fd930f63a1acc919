import { putMembersRaw } from '../../support/members';
import { pausePipeline } from '../../../cli/src/ops/pause';
import { resumeRefusals } from '../../../cli/src/ops/resume';
import { LocalPipeline } from '../../../local/local-pipeline';

jest.setTimeout(300_000);

/**
 * 12.2c review: the registry watch raises RegistryFanIn while the pipeline is already paused for
 * another cause (an operator pausing it for an import is the common case). The pause flag keeps the
 * first cause, so the watch's mailbox is recorded nowhere `resume` looks: resume goes through with
 * the registry still pointing more than fanInLimit members at one mailbox, and messages flow to it
 * (the dispatcher's span guard then lets fanInLimit members per window reach it). The real local
 * pipeline: its registry watch on the members stream, the ops pause and resume checks.
 */
let pipeline: LocalPipeline;
beforeAll(async () => {
  pipeline = await LocalPipeline.start({ config: { fanInLimit: 3 } });
});
afterAll(async () => pipeline?.stop());

it('12.2c review: a RegistryFanIn raised during an operator pause still stops resume until the mailbox is fixed', async () => {
  await pausePipeline(pipeline.opsTarget, { reason: 'member import', operator: 'ana', now: new Date() });
  // The import, written raw: four members onto one mailbox (limit 3).
  await putMembersRaw(
    pipeline.aws.clients.dynamodb,
    pipeline.aws.tables.members,
    ['shared+a@example.org', 'Shared@example.org', 'shared+b@example.org', 'SHARED+c@example.org'].map((email, n) => ({
      memberId: `P${n}`,
      email,
      status: 'active',
      proxies: [],
    })),
  );
  expect(await pipeline.registryWatch.catchUp()).toBe(true);

  const { refusals } = await resumeRefusals(pipeline.opsTarget);
  expect(refusals.some((r) => /registry still points 4 members/.test(r))).toBe(true);
});
