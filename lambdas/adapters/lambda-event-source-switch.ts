import { setTimeout as sleep } from 'node:timers/promises';
import { GetEventSourceMappingCommand, LambdaClient, UpdateEventSourceMappingCommand } from '@aws-sdk/client-lambda';
import type { EventSourceSwitch, SwitchOptions } from '../ports';
import { AWS_CLIENT_CONFIG } from './sdk-clients';

export interface LambdaEventSourceSwitchOptions {
  readonly mappingId: string;
  /** @default a client built from the environment */
  readonly client?: LambdaClient;
  /** Updates tried while the mapping answers that it is in use (a transition under way). @default 7 */
  readonly inUseTries?: number;
  /** First back-off after an in-use answer, doubled each time (capped at 2 s). @default 250 */
  readonly backoffMs?: number;
}

/**
 * Answers that mean "the mapping is in a transition (Creating, Enabling, Disabling, Updating):
 * ask again later", not a failure. The breaker meets them whenever two pauses race (the
 * dispatcher's own trip, then the alarm's notification, from every environment).
 */
const IN_USE = new Set(['ResourceInUseException', 'ResourceConflictException']);

/** States in which the wanted switch is already made (or being made by an earlier call). */
const ALREADY: Record<'enable' | 'disable', ReadonlySet<string>> = {
  enable: new Set(['Enabled', 'Enabling']),
  disable: new Set(['Disabled', 'Disabling']),
};

/** Pauses the dispatcher by disabling its SQS event source mapping: messages wait in the queue. */
export class LambdaEventSourceSwitch implements EventSourceSwitch {
  private readonly client: LambdaClient;

  constructor(private readonly options: LambdaEventSourceSwitchOptions) {
    this.client = options.client ?? new LambdaClient(AWS_CLIENT_CONFIG);
  }

  disable(options?: SwitchOptions): Promise<void> {
    return this.switchTo('disable', options);
  }

  enable(options?: SwitchOptions): Promise<void> {
    return this.switchTo('enable', options);
  }

  async isEnabled(): Promise<boolean> {
    const state = await this.state();
    return state === 'Enabled' || state === 'Enabling' || state === 'Updating';
  }

  /**
   * Reads the state first: a mapping already `Disabled`/`Disabling` (for a disable) needs
   * nothing, which is what a second breaker run finds. Otherwise updates it, and on an in-use
   * answer waits, reads again (the transition may be the one wanted) and tries again: `inUseTries`
   * times, or for `patienceMs` when the caller gives it.
   */
  private async switchTo(wanted: 'enable' | 'disable', options: SwitchOptions = {}): Promise<void> {
    const tries = this.options.inUseTries ?? 7;
    const giveUpAt = options.patienceMs === undefined ? undefined : Date.now() + options.patienceMs;
    for (let attempt = 1; ; attempt++) {
      if (ALREADY[wanted].has((await this.state()) ?? '')) return;
      try {
        await this.client.send(new UpdateEventSourceMappingCommand({ UUID: this.options.mappingId, Enabled: wanted === 'enable' }));
        return;
      } catch (error) {
        const name = (error as { name?: string })?.name ?? 'Error';
        const outOfPatience = giveUpAt === undefined ? attempt >= tries : Date.now() >= giveUpAt;
        if (!IN_USE.has(name) || outOfPatience) throw new Error(`Cannot ${wanted} the event source mapping (${name})`, { cause: error });
        const base = this.options.backoffMs ?? 250;
        await sleep(Math.min(2000, base * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
      }
    }
  }

  private async state(): Promise<string | undefined> {
    try {
      return (await this.client.send(new GetEventSourceMappingCommand({ UUID: this.options.mappingId }))).State;
    } catch (error) {
      throw new Error(`Cannot read the event source mapping (${(error as { name?: string })?.name ?? 'Error'})`, { cause: error });
    }
  }
}
