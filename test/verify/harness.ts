/**
 * Drives worlds: randomised schedules through fast-check (seeded, shrunk to a minimal failing
 * choice list) and exhaustive depth-first enumeration of every schedule of a small
 * configuration. A failure is reported as a story: the configuration, every step (actor, the
 * await it stopped at, the answer it met), the invariant that broke, and what the store held.
 */
import fc from 'fast-check';
import { loadSystem, type LoadedSystem, type SourcePatch } from './load-system';
import { ExhaustiveChoices, ListChoices, type ChoiceSource } from './scheduler';
import { World, type RunResult, type WorldConfig } from './world';

export interface Stats {
  schedules: number;
  interleavings: Set<string>;
  steps: number;
  checks: number;
  violations: number;
  truncated: number;
}

export function newStats(): Stats {
  return { schedules: 0, interleavings: new Set(), steps: 0, checks: 0, violations: 0, truncated: 0 };
}

function record(stats: Stats, result: RunResult): void {
  stats.schedules++;
  stats.steps += result.steps;
  stats.checks += result.checks;
  if (result.truncated) stats.truncated++;
  if (result.violation) stats.violations++;
  // Keep the set bounded: a hash of the pick sequence.
  stats.interleavings.add(hash(result.fingerprint));
}

function hash(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    h1 = Math.imul(h1 ^ text.charCodeAt(i), 0x01000193);
    h2 = Math.imul(h2 ^ text.charCodeAt(i), 0x5bd1e995);
  }
  return `${(h1 >>> 0).toString(36)}${(h2 >>> 0).toString(36)}`;
}

export async function runSchedule(
  config: WorldConfig,
  system: LoadedSystem,
  choices: ChoiceSource,
): Promise<{ result: RunResult; world: World }> {
  const world = new World(config, system, choices);
  const result = await world.run();
  return { result, world };
}

/** The failing schedule as a story a person can follow. */
export function story(config: WorldConfig, world: World, result: RunResult, header: string): string {
  const v = result.violation!;
  return [
    header,
    `configuration "${config.name}": ${config.messages.length} message(s), ${config.members.length} member(s), ${config.environments} environment(s), ` +
      `batch ${config.batchSize}, fan-in ${config.fanInLimit}/${config.fanInWindowSeconds}s, lease ${config.claimLeaseSeconds}s, ${config.maxSendsPerSecond || '∞'} sends/s`,
    '--- what happened (step, actor, the await it stopped at → the answer it met) ---',
    ...result.trace,
    `--- invariant ${v.invariant} broke at step ${v.step} ---`,
    v.message,
    ...v.details.map((d) => `  ${d}`),
    '--- what the store held then ---',
    ...world.describeState().map((l) => `  ${l}`),
  ].join('\n');
}

export class HarnessFailure extends Error {}

export interface RandomRun {
  readonly config: WorldConfig;
  readonly runs: number;
  readonly seed: number;
  readonly patches?: readonly SourcePatch[];
  readonly maxChoices?: number;
}

/**
 * Randomised schedules. Returns the stats and, on a violation, the shrunk failing story (the
 * seed and the choice list reproduce it).
 */
export async function randomSchedules(run: RandomRun, stats: Stats = newStats()): Promise<{ stats: Stats; failure?: string }> {
  const system = await loadSystem(run.patches ?? []);
  const property = fc.asyncProperty(fc.array(fc.nat({ max: 0xffff }), { minLength: 8, maxLength: run.maxChoices ?? 160 }), async (list) => {
    const { result } = await runSchedule(run.config, system, new ListChoices(list));
    record(stats, result);
    return result.violation === undefined;
  });
  const details = await fc.check(property, { numRuns: run.runs, seed: run.seed, endOnFailure: false, markInterruptAsFailure: false });
  if (!details.failed || !details.counterexample) return { stats };
  const [list] = details.counterexample;
  const { result, world } = await runSchedule(run.config, system, new ListChoices(list));
  if (!result.violation) throw new HarnessFailure(`the shrunk schedule did not reproduce (seed ${run.seed})`);
  const header = `VIOLATION found by randomised schedules: seed ${run.seed}, shrunk choice list [${list.join(', ')}] (${details.numShrinks} shrinks)`;
  return { stats, failure: story(run.config, world, result, header) };
}

/** Every schedule of a (small) configuration, depth first. */
export async function exhaustiveSchedules(
  config: WorldConfig,
  options: { patches?: readonly SourcePatch[]; limit?: number } = {},
  stats: Stats = newStats(),
): Promise<{ stats: Stats; orderings: number; complete: boolean; failure?: string }> {
  const system = await loadSystem(options.patches ?? []);
  const choices = new ExhaustiveChoices();
  let orderings = 0;
  for (;;) {
    const { result, world } = await runSchedule(config, system, choices);
    record(stats, result);
    orderings++;
    if (result.violation) {
      const header = `VIOLATION found by exhaustive enumeration (ordering ${orderings}), choice list [${choices.choices.join(', ')}]`;
      return { stats, orderings, complete: false, failure: story(config, world, result, header) };
    }
    if (options.limit && orderings >= options.limit) return { stats, orderings, complete: false };
    if (!choices.advance()) return { stats, orderings, complete: true };
  }
}
