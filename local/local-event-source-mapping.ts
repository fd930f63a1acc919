import { Readable } from 'node:stream';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { FaultPlan } from './faults';

/** The local mapping's id (the stack's is a UUID CloudFormation assigns). */
export const LOCAL_MAPPING_UUID = 'local-dispatcher-mapping';

/** What the local mapping stands for: the poller, seen as the mapping's switch and its work in flight. */
export interface LocalMappingTarget {
  readonly enabled: boolean;
  readonly busy: { readonly receiving: number; readonly processing: number };
  enable(): void;
  disable(): void;
}

/** Lambda's `State` of an event source mapping. */
export type MappingState = 'Creating' | 'Enabling' | 'Enabled' | 'Disabling' | 'Disabled' | 'Updating' | 'Deleting';

interface HttpRequestLike {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
}

/**
 * A Lambda API client whose event source mapping is the local poller: `GetEventSourceMapping`
 * and `UpdateEventSourceMapping` are answered in-process, as HTTP responses the real SDK
 * deserialises, so the breaker and `ops` run the same `LambdaEventSourceSwitch` code as in AWS.
 * As Lambda does, a disabled mapping whose pollers still have work in flight is `Disabling`,
 * an update answers with the transitional state, and the `lambda mapping-in-use` fault makes
 * the next updates answer `ResourceInUseException` (HTTP 400), as one during a transition does.
 */
export function localMappingClient(target: LocalMappingTarget, faults: FaultPlan, region = 'us-east-1'): LambdaClient {
  const state = (): MappingState =>
    target.enabled ? 'Enabled' : target.busy.receiving + target.busy.processing > 0 ? 'Disabling' : 'Disabled';
  const mapping = (current: MappingState) => ({
    UUID: LOCAL_MAPPING_UUID,
    State: current,
    StateTransitionReason: 'USER_INITIATED',
    BatchSize: 10,
  });
  const handle = async (request: HttpRequestLike) => {
    const match = /\/event-source-mappings\/([^/?]+)$/.exec(request.path);
    if (!match || decodeURIComponent(match[1]) !== LOCAL_MAPPING_UUID) {
      return answer(404, { Type: 'User', Message: 'The resource you requested does not exist.' }, 'ResourceNotFoundException');
    }
    if (request.method === 'GET') return answer(200, mapping(state()));
    if (request.method !== 'PUT')
      return answer(400, { Type: 'User', Message: `${request.method} is not supported locally` }, 'InvalidParameterValueException');
    if (faults.take('lambda', 'mapping-in-use')) {
      return answer(
        400,
        { Type: 'User', Message: `Cannot update the event source mapping because it is in use. (local fault)` },
        'ResourceInUseException',
      );
    }
    const body = JSON.parse(bodyText(request.body) || '{}') as { Enabled?: boolean };
    if (body.Enabled === true) target.enable();
    if (body.Enabled === false) target.disable();
    // Lambda answers 202 with the transition under way; the state settles afterwards.
    return answer(202, mapping(body.Enabled === true ? 'Enabling' : body.Enabled === false ? 'Disabling' : 'Updating'));
  };
  return new LambdaClient({
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: {
      handle: async (request: HttpRequestLike) => ({ response: await handle(request) }),
      updateHttpClientConfig: () => undefined,
      httpHandlerConfigs: () => ({}),
      destroy: () => undefined,
    } as unknown as LambdaClient['config']['requestHandler'],
  });
}

function answer(statusCode: number, body: object, errorType?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-amzn-requestid': `local-${Date.now()}` };
  if (errorType) headers['x-amzn-errortype'] = errorType;
  return { statusCode, headers, body: Readable.from([Buffer.from(JSON.stringify(body))]) };
}

/**
 * The request body as text, read from its bytes. The SDK hands a `Uint8Array` subclass whose
 * string methods (and `valueOf`, which `Buffer.from(body)` calls) print a deprecation warning.
 */
function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  return '';
}
