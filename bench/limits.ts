import type { LatencyFigures, QuotaFigures } from './quota-run';

/** The part of a side's summary the explanations read. */
export interface SideProfile {
  readonly medianPerSecond: number;
  /** Awaited wall time per sent e-mail, by `<Service>:<Command>`. */
  readonly callMsPerSent: Readonly<Record<string, number>>;
  /** Handler time per invocation (median) and per sent e-mail. */
  readonly handlerMs: { readonly median: number; readonly perMessage: number };
  /** Invocations per sent e-mail (1 / records per invocation). */
  readonly invocationsPerSent: number;
}

const ms = (x: number) => `${x.toFixed(1)} ms`;

/** The calls a handler awaits per e-mail, largest first (the poller's own SQS calls left out). */
export function awaitedCalls(profile: SideProfile): [string, number][] {
  return Object.entries(profile.callMsPerSent)
    .filter(([key]) => !key.startsWith('SQS:ReceiveMessage') && !key.startsWith('SQS:DeleteMessageBatch'))
    .sort((a, b) => b[1] - a[1]);
}

/**
 * What limits the pipeline against the peer, from both sides' profiles (timing of each await):
 * how much each awaits per e-mail, and how many e-mails one environment has in flight at once.
 */
export function explainPeerGap(
  pipeline: SideProfile,
  peer: SideProfile,
  options: {
    readonly handlerConcurrency: number;
    readonly batchSize: number;
    /** The reported run with more messages in flight, when there was one. */
    readonly wide?: { readonly handlerConcurrency: number; readonly perSecond: number; readonly toPeer: number };
  },
): string {
  const list = (p: SideProfile) =>
    awaitedCalls(p)
      .map(([key, value]) => `${key.split(':')[1].replace('Command', '')} ${ms(value)}`)
      .join(' + ');
  const pipelineAwaited = awaitedCalls(pipeline).reduce((s, [, v]) => s + v, 0);
  const peerAwaited = awaitedCalls(peer).reduce((s, [, v]) => s + v, 0);
  const peerPerInvocation = peer.invocationsPerSent > 0 ? 1 / peer.invocationsPerSent : options.batchSize;
  // One environment's rate: the handler's time per e-mail, with its in-flight e-mails overlapping.
  const pipelineEnvRate = pipeline.handlerMs.perMessage > 0 ? 1000 / pipeline.handlerMs.perMessage : 0;
  const peerEnvRate = peer.handlerMs.perMessage > 0 ? 1000 / peer.handlerMs.perMessage : 0;
  return (
    `the pipeline awaits ${ms(pipelineAwaited)} of calls per e-mail (${list(pipeline)}) with ${options.handlerConcurrency} e-mail in flight per environment ` +
    `(handlerConcurrency ${options.handlerConcurrency}: slot, claim and send in sequence, the sent write beside the next claim), so one environment does ≤ ${pipelineEnvRate.toFixed(1)} e-mails/s ` +
    `(handler ${ms(pipeline.handlerMs.perMessage)} per e-mail); the peer awaits ${ms(peerAwaited)} per e-mail (${list(peer)}) ` +
    `but runs its ${peerPerInvocation.toFixed(1)} records per batch in parallel (Powertools' default), ${ms(peer.handlerMs.perMessage)} of handler per e-mail, ` +
    `≤ ${peerEnvRate.toFixed(1)} e-mails/s per environment` +
    (options.wide
      ? `; with ${options.wide.handlerConcurrency} in flight the same pipeline did ${options.wide.perSecond.toFixed(1)} e-mails/s (${options.wide.toPeer.toFixed(3)} of the peer), ` +
        (options.wide.toPeer >= 0.95
          ? 'so the one-at-a-time default, kept for its crash exposure, is what costs the difference'
          : 'so one-at-a-time is part of the difference and the claim transaction, which DynamoDB Local runs one after another, the rest')
      : '')
  );
}

/** What limits the quota figures that missed, from the drain run's own numbers. */
export function explainQuota(q: QuotaFigures, drainHandlerMsPerMessage: number): { utilisation: string; throttled: string } {
  const perEnvAchieved = q.acceptedPerSecond / q.concurrency;
  const perEnvCapacity = drainHandlerMsPerMessage > 0 ? 1000 / drainHandlerMsPerMessage : 0;
  const pacingBound = perEnvCapacity >= q.perEnvironmentRate;
  const utilisation = pacingBound
    ? `each of ${q.concurrency} environments paced to ${q.perEnvironmentRate}/s and achieved ${perEnvAchieved.toFixed(2)}/s; ` +
      `its handler could do ${perEnvCapacity.toFixed(1)}/s (${ms(drainHandlerMsPerMessage)} per e-mail): the time between batches ` +
      `(receive, delete, pollers idle) and ${q.throttled} throttled sends (each released and claimed again) are what is lost`
    : `each of ${q.concurrency} environments needed ${q.perEnvironmentRate}/s but its handler took ${ms(drainHandlerMsPerMessage)} per e-mail ` +
      `(≤ ${perEnvCapacity.toFixed(1)}/s, achieved ${perEnvAchieved.toFixed(2)}/s): on this machine the pipeline is below Q before the quota is reached`;
  const throttled =
    `${q.throttled} of ${q.accepted + q.throttled} SendEmail calls over the quota (burst ${q.burst}): ${q.concurrency} environments each pace on their own clock, ` +
    'with the claim between the pacing slot and the send, so sends of different environments bunch';
  return { utilisation, throttled };
}

/** What limits the latency at half the quota, from the latency run's own numbers. */
export function explainLatency(
  l: LatencyFigures,
  q: QuotaFigures,
  options: { readonly batchSize: number; readonly achievedPerSecond: number; readonly handlerMsPerMessage: number },
): string {
  const unmeasured = l.messages - l.measured;
  if (unmeasured > 0 || options.achievedPerSecond < l.publishPerSecond * 0.95) {
    return (
      `the pipeline sent ${options.achievedPerSecond.toFixed(1)}/s of the ${l.publishPerSecond}/s published (handler ${ms(options.handlerMsPerMessage)} per e-mail ` +
      `over ${q.concurrency} environments), so a queue built${unmeasured > 0 ? ` and ${unmeasured} of ${l.messages} were not accepted within the cap (percentiles are lower bounds)` : ''}`
    );
  }
  const batchSeconds = options.batchSize / q.perEnvironmentRate;
  return `one environment paces its batch at ${q.perEnvironmentRate}/s: the last of a full batch of ${options.batchSize} waits ${batchSeconds.toFixed(2)} s for its slot, after the poll`;
}
