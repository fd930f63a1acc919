import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DEFAULT_CONFIG } from '../lambdas/core/config';
import { ScenarioFileError } from './errors';
import { FAULT_KINDS } from './faults';
import { SES_FEEDBACK_TYPES } from './feedback-pump';

const configKeys = ['fanInLimit', 'fanInWindowSeconds', 'batchSize', 'maxReceiveCount'] as const;
const positiveInt = z.number().int().positive();

/** A member row as a scenario writes it; raw rows may hold anything a buggy upstream would. */
const memberRow = z.record(z.string(), z.unknown());

const step = z.union([
  z.object({ putMembers: z.array(memberRow), raw: z.boolean().optional() }).strict(),
  z.object({ publish: z.array(z.record(z.string(), z.unknown())) }).strict(),
  z.object({ publishRaw: z.array(z.string()) }).strict(),
  z.object({ drain: z.object({ maxSeconds: z.number().positive().optional() }).strict() }).strict(),
  z
    .object({
      fault: z
        .object({
          target: z.enum(Object.keys(FAULT_KINDS) as [keyof typeof FAULT_KINDS]),
          kind: z.string(),
          times: positiveInt,
        })
        .strict()
        .refine((f) => (FAULT_KINDS[f.target] as readonly string[]).includes(f.kind), { message: 'unknown fault kind for this target' }),
    })
    .strict(),
  z
    .object({
      sesFeedback: z.array(
        z.object({
          dispatchId: z.string().min(1),
          type: z.enum(SES_FEEDBACK_TYPES),
          bounceType: z.enum(['Permanent', 'Transient']).optional(),
          /** SES's sub-type; @default `General` (Permanent) or `MailboxFull` (Transient) */
          bounceSubType: z.string().optional(),
        }),
      ),
    })
    .strict(),
  z
    .object({
      clock: z.union([
        z.object({ set: z.iso.datetime({ offset: true }) }).strict(),
        z.object({ advanceSeconds: z.number().finite().nonnegative() }).strict(),
      ]),
    })
    .strict(),
  z.object({ reportNotForMe: z.array(z.string().min(1)) }).strict(),
  z.object({ resume: z.object({}).strict() }).strict(),
  z.object({ redriveDlq: z.object({}).strict() }).strict(),
  z.object({ releaseInDoubt: z.object({ dispatchIds: z.array(z.string().min(1)).min(1) }).strict() }).strict(),
]);

/** The scenario format of `scenarios/README.md`. */
export const scenarioSchema = z
  .object({
    name: z.string().min(1),
    config: z
      .object(
        Object.fromEntries(configKeys.map((key) => [key, positiveInt.optional()])) as Record<
          (typeof configKeys)[number],
          z.ZodOptional<typeof positiveInt>
        >,
      )
      .strict()
      .optional(),
    steps: z.array(step),
  })
  .strict();

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioStep = Scenario['steps'][number];

/** Parses a scenario, reporting every problem with its path. */
export function parseScenario(json: unknown, source = 'scenario'): Scenario {
  const result = scenarioSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ScenarioFileError(`${source} is not a valid scenario: ${problems.slice(0, 10).join('; ')}`);
  }
  return result.data;
}

export function readScenarioFile(path: string): Scenario {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ScenarioFileError(`Cannot read scenario ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parseScenario(json, path);
}

/** The scenario's settings over the project's defaults. */
export function scenarioConfig(scenario: Scenario) {
  return { ...DEFAULT_CONFIG, ...Object.fromEntries(Object.entries(scenario.config ?? {}).filter(([, v]) => v !== undefined)) };
}
