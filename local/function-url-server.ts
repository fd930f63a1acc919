import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { LOCAL_SOURCE_IP_HEADER } from './not-for-me-visitor';

/** Largest request body passed on (the page's form posts a few bytes; Lambda URLs allow 6 MB). */
const MAX_BODY_BYTES = 16 * 1024;

export interface FunctionUrlServer {
  /** `http://127.0.0.1:<port>`: the base of every link the local e-mails carry. */
  readonly url: string;
  stop(): Promise<void>;
}

export interface FunctionUrlServerOptions {
  readonly handler: (event: LambdaFunctionURLEvent) => Promise<LambdaFunctionURLResult>;
  /** @default 0 (any free port) */
  readonly port?: number;
}

/**
 * Serves a Lambda function-URL handler over local HTTP, turning each request into the event a
 * function URL delivers (payload format 2.0) and the handler's result back into the response: the
 * real page handler answers a browser or the scenario runner exactly as it would in AWS.
 */
export async function startFunctionUrlServer(options: FunctionUrlServerOptions): Promise<FunctionUrlServer> {
  const server: Server = createServer((request, response) => {
    void (async () => {
      try {
        const event = await toEvent(request);
        if (!event) {
          response.writeHead(413, { 'content-type': 'text/plain' }).end('request too large');
          return;
        }
        const result = await options.handler(event);
        const shaped = typeof result === 'string' ? { statusCode: 200, body: result } : result;
        const body = shaped.body === undefined ? '' : shaped.isBase64Encoded ? Buffer.from(shaped.body, 'base64') : shaped.body;
        response.writeHead(shaped.statusCode ?? 200, {
          ...(shaped.headers ?? {}),
          'content-length': String(Buffer.byteLength(body)),
        } as Record<string, string>);
        response.end(request.method === 'HEAD' ? undefined : body);
      } catch {
        // The handler answers every failure with a page; this is the server itself failing.
        if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
        response.end('bad gateway');
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

async function toEvent(request: IncomingMessage): Promise<LambdaFunctionURLEvent | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(',') : (value ?? '')]),
  );
  const body = Buffer.concat(chunks);
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : undefined,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'local',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: 'local',
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        // Locally, a scenario's visitors may say which network they come from (each person their
        // own, for the per-source rate limit); the deployed function URL takes it from the socket.
        sourceIp: headers[LOCAL_SOURCE_IP_HEADER] || (request.socket.remoteAddress ?? 'unknown'),
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: `${now.getTime()}-${Math.random().toString(16).slice(2)}`,
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    // Function URLs base64-encode every body that is not text; a form post is text.
    body: body.length > 0 ? body.toString('base64') : undefined,
    isBase64Encoded: body.length > 0,
  };
}
