/**
 * The local pipeline's control endpoint: how a separate `mail-dispatch --local` process reaches
 * what only the `npm run local` process holds, the poller (the local "event source mapping") and
 * the local fan-in alarm. Both sides of the contract live here: `npm run local` starts the server
 * and prints its URL as `MAIL_DISPATCH_LOCAL_CONTROL_URL`; the CLI's local target is the client.
 *
 * - `GET  /event-source`                       → `{ "enabled": boolean }`
 * - `PUT  /event-source` `{ "enabled": bool }` → `{ "enabled": boolean }`
 * - `GET  /alarms` → `{ "fanInAlarmName": string, "alarms": [{ "name", "state": "OK"|"ALARM"|"INSUFFICIENT_DATA", "since"? }] }`
 * - `PUT  /alarms` `{ "name", "state": "ALARM"|"OK", "reason" }` → 204: what CloudWatch's `SetAlarmState` does
 *
 * It listens on 127.0.0.1 only and carries no member data.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MailDispatchError } from '../../../lambdas/core/errors';
import type { EventSourceSwitch } from '../../../lambdas/ports';
import type { AlarmStatus } from './alarm-status';

export const LOCAL_CONTROL_URL_ENV = 'MAIL_DISPATCH_LOCAL_CONTROL_URL';
export const LocalControlPath = { eventSource: '/event-source', alarms: '/alarms' } as const;

export interface LocalAlarms {
  readonly fanInAlarmName: string;
  readonly alarms: readonly AlarmStatus[];
}

export interface LocalControlServerOptions {
  /** The poller's switch (LocalPipeline.eventSource). */
  readonly eventSource: EventSourceSwitch;
  /** The local alarms (LocalPipeline.alarm); absent: `/alarms` answers 404. */
  readonly alarms?: () => LocalAlarms | Promise<LocalAlarms>;
  /** Sets a local alarm's state (the drill's `SetAlarmState`); absent: `PUT /alarms` answers 404. */
  readonly setAlarmState?: (name: string, state: 'ALARM' | 'OK', reason: string) => void | Promise<void>;
  /** @default a free port */
  readonly port?: number;
}

export interface LocalControlServer {
  /** The value for `MAIL_DISPATCH_LOCAL_CONTROL_URL`. */
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts the control endpoint (for `npm run local` and tests). */
export async function startLocalControlServer(options: LocalControlServerOptions): Promise<LocalControlServer> {
  const server: Server = createServer((request, response) => {
    route(options, request, response).catch((error: unknown) => send(response, 500, { error: (error as Error)?.name ?? 'Error' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function route(options: LocalControlServerOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = (request.url ?? '').split('?')[0];
  if (path === LocalControlPath.eventSource && request.method === 'GET') {
    return send(response, 200, { enabled: await options.eventSource.isEnabled() });
  }
  if (path === LocalControlPath.eventSource && request.method === 'PUT') {
    const body = (await readJson(request)) as { enabled?: unknown } | undefined;
    if (typeof body?.enabled !== 'boolean') return send(response, 400, { error: 'body must be {"enabled": true|false}' });
    await (body.enabled ? options.eventSource.enable() : options.eventSource.disable());
    return send(response, 200, { enabled: await options.eventSource.isEnabled() });
  }
  if (path === LocalControlPath.alarms && request.method === 'GET' && options.alarms) return send(response, 200, await options.alarms());
  if (path === LocalControlPath.alarms && request.method === 'PUT' && options.setAlarmState) {
    const body = (await readJson(request)) as { name?: unknown; state?: unknown; reason?: unknown } | undefined;
    if (typeof body?.name !== 'string' || (body.state !== 'ALARM' && body.state !== 'OK') || typeof body.reason !== 'string') {
      return send(response, 400, { error: 'body must be {"name": string, "state": "ALARM"|"OK", "reason": string}' });
    }
    await options.setAlarmState(body.name, body.state, body.reason);
    return send(response, 200, { name: body.name, state: body.state });
  }
  return send(response, 404, { error: 'not found' });
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** The CLI's side: the local poller through the control endpoint. */
export class HttpEventSourceSwitch implements EventSourceSwitch {
  constructor(private readonly baseUrl: string) {}

  async isEnabled(): Promise<boolean> {
    return (await this.eventSource('GET')).enabled;
  }

  async enable(): Promise<void> {
    await this.eventSource('PUT', true);
  }

  async disable(): Promise<void> {
    await this.eventSource('PUT', false);
  }

  private async eventSource(method: 'GET' | 'PUT', enabled?: boolean): Promise<{ enabled: boolean }> {
    const body = await callControl<{ enabled?: unknown }>(
      this.baseUrl,
      LocalControlPath.eventSource,
      method,
      enabled === undefined ? undefined : { enabled },
    );
    if (typeof body?.enabled !== 'boolean')
      throw new MailDispatchError(`The local control endpoint gave no state for ${LocalControlPath.eventSource}`);
    return { enabled: body.enabled };
  }
}

/** The local alarms, or `undefined` when the endpoint has none. */
export async function fetchLocalAlarms(baseUrl: string): Promise<LocalAlarms | undefined> {
  return callControl<LocalAlarms>(baseUrl, LocalControlPath.alarms, 'GET', undefined, true);
}

/** Sets a local alarm's state through the endpoint (CloudWatch's `SetAlarmState`, locally). */
export async function setLocalAlarmState(baseUrl: string, name: string, state: 'ALARM' | 'OK', reason: string): Promise<void> {
  await callControl(baseUrl, LocalControlPath.alarms, 'PUT', { name, state, reason });
}

async function callControl<T>(
  baseUrl: string,
  path: string,
  method: 'GET' | 'PUT',
  body: unknown,
  missingOk = false,
): Promise<T | undefined> {
  let response: Response;
  try {
    response = await fetch(`${baseUrl.replace(/\/+$/, '')}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(5000),
    });
  } catch (error) {
    throw new MailDispatchError(`The local control endpoint (${LOCAL_CONTROL_URL_ENV}) does not answer`, { cause: error });
  }
  if (missingOk && response.status === 404) return undefined;
  if (!response.ok) throw new MailDispatchError(`The local control endpoint answered ${response.status} to ${method} ${path}`);
  return (await response.json()) as T;
}
