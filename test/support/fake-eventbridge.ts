import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the fake bus does with the next PutEvents call. */
export type PutEventsBehaviour =
  | { readonly kind: 'accept' }
  /** `FailedEntryCount` > 0: these positions of the call are refused (throttled), the rest accepted. */
  | { readonly kind: 'partial'; readonly refuse: readonly number[] }
  /** The whole call is throttled (400 ThrottlingException). */
  | { readonly kind: 'throttle' }
  /** The service is down (500 InternalException). */
  | { readonly kind: 'down' };

export interface FakeEventBridge {
  readonly endpoint: string;
  /** Every entry the bus accepted, in order. */
  readonly accepted: { Source: string; DetailType: string; Detail: string; EventBusName: string }[];
  /** Behaviours for the next calls, in order; when empty, `fallback`. */
  readonly script: PutEventsBehaviour[];
  fallback: PutEventsBehaviour;
  calls: number;
  close(): Promise<void>;
}

/**
 * A loopback HTTP server answering EventBridge's PutEvents (AWS JSON 1.1) as the service does,
 * including partial failures, throttling and outages: the real SDK client and the real adapter
 * talk to it. There is no EventBridge emulator among the project's embedded ones.
 */
export async function startFakeEventBridge(): Promise<FakeEventBridge> {
  const state = {
    accepted: [] as FakeEventBridge['accepted'],
    script: [] as PutEventsBehaviour[],
    fallback: { kind: 'accept' } as PutEventsBehaviour,
    calls: 0,
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      state.calls++;
      const answer = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify(body));
      };
      if (request.headers['x-amz-target'] !== 'AWSEvents.PutEvents') return answer(400, { __type: 'UnknownOperationException' });
      const { Entries = [] } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Entries?: FakeEventBridge['accepted'] };
      const behaviour = state.script.shift() ?? state.fallback;
      if (behaviour.kind === 'throttle') return answer(400, { __type: 'ThrottlingException', message: 'Rate exceeded' });
      if (behaviour.kind === 'down') return answer(500, { __type: 'InternalException', message: 'Internal error' });
      const refuse = new Set(behaviour.kind === 'partial' ? behaviour.refuse : []);
      const results = Entries.map((entry, position) => {
        if (refuse.has(position)) return { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' };
        state.accepted.push(entry);
        return { EventId: `event-${state.accepted.length}` };
      });
      answer(200, { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }) as FakeEventBridge;
}
