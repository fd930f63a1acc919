import type { EventSourceSwitch } from '../../lambdas/ports';
import { MailDispatchError } from '../../lambdas/core/errors';

/**
 * The local pipeline's stand-in for the event source mapping: the poller `npm run local` runs.
 * It answers on a tiny control endpoint whose base URL `npm run local` prints as this variable:
 *
 * - `GET  <url>/event-source`                      → `{ "enabled": boolean }`
 * - `PUT  <url>/event-source` `{ "enabled": bool }` → `{ "enabled": boolean }`
 */
export const LOCAL_CONTROL_URL_ENV = 'MAIL_DISPATCH_LOCAL_CONTROL_URL';
export const LOCAL_EVENT_SOURCE_PATH = '/event-source';

/** Talks to the local poller's control endpoint. */
export class HttpEventSourceSwitch implements EventSourceSwitch {
  constructor(private readonly baseUrl: string) {}

  async isEnabled(): Promise<boolean> {
    return (await this.call('GET')).enabled;
  }

  async enable(): Promise<void> {
    await this.call('PUT', true);
  }

  async disable(): Promise<void> {
    await this.call('PUT', false);
  }

  private async call(method: 'GET' | 'PUT', enabled?: boolean): Promise<{ enabled: boolean }> {
    const url = `${this.baseUrl.replace(/\/+$/, '')}${LOCAL_EVENT_SOURCE_PATH}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        ...(enabled === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ enabled }) }),
        signal: AbortSignal.timeout(5000),
      });
    } catch (error) {
      throw new MailDispatchError(`The local poller's control endpoint (${LOCAL_CONTROL_URL_ENV}) does not answer`, { cause: error });
    }
    const body = (await response.json().catch(() => undefined)) as { enabled?: unknown } | undefined;
    if (!response.ok || typeof body?.enabled !== 'boolean') {
      throw new MailDispatchError(`The local poller's control endpoint answered ${response.status} to ${method} ${LOCAL_EVENT_SOURCE_PATH}`);
    }
    return { enabled: body.enabled };
  }
}
