import type { SNSEvent } from 'aws-lambda';
import { ConfigurationError } from '../../lambdas/core/errors';
import { depsOf, lambdaEntry, lazyStart, requiredEnv } from '../../lambdas/handler-kit';
import { Env } from '../../lambdas/tables';

describe('requiredEnv', () => {
  it('returns a set variable and names a missing or empty one (never a value)', () => {
    expect(requiredEnv('A', { A: 'x' })).toBe('x');
    expect(() => requiredEnv('A', {})).toThrow(new ConfigurationError('Environment variable A is not set'));
    expect(() => requiredEnv('A', { A: '' })).toThrow(ConfigurationError);
  });
});

describe('lazyStart', () => {
  it('starts on first use, once, and shares that start between concurrent calls', async () => {
    const start = jest.fn(async () => ({ id: 1 }));
    const ready = lazyStart(start);
    expect(start).not.toHaveBeenCalled();
    const [a, b] = await Promise.all([ready(), ready()]);
    expect(a).toBe(b);
    await expect(ready()).resolves.toBe(a);
    expect(start).toHaveBeenCalledTimes(1);
  });

  it('starts again after a failed start, and keeps the first start that succeeds', async () => {
    let attempts = 0;
    const ready = lazyStart(async () => {
      attempts++;
      if (attempts < 3) throw new Error(`secret not readable yet (${attempts})`);
      return { attempts };
    });
    await expect(ready()).rejects.toThrow('secret not readable yet (1)');
    await expect(ready()).rejects.toThrow('secret not readable yet (2)');
    await expect(ready()).resolves.toEqual({ attempts: 3 });
    await expect(ready()).resolves.toEqual({ attempts: 3 });
    expect(attempts).toBe(3);
  });

  it('treats a start that throws synchronously as a failed start', async () => {
    let fail = true;
    const ready = lazyStart(() => {
      if (fail) throw new ConfigurationError('Environment variable X is not set');
      return 'started';
    });
    await expect(ready()).rejects.toThrow(ConfigurationError);
    fail = false;
    await expect(ready()).resolves.toBe('started');
  });
});

describe('depsOf', () => {
  it('gives dependencies passed as they are without calling anything, and builds a start lazily', async () => {
    const deps = { name: 'ready' };
    await expect(depsOf(deps)()).resolves.toBe(deps);
    const start = jest.fn(async () => deps);
    const built = depsOf(start);
    expect(start).not.toHaveBeenCalled();
    await built();
    await built();
    expect(start).toHaveBeenCalledTimes(1);
  });
});

describe('lambdaEntry', () => {
  it('passes event and context to the handler it started, and retries a failed start on the next invocation', async () => {
    let starts = 0;
    const entry = lambdaEntry(async () => {
      starts++;
      if (starts === 1) throw new Error('cold start failed');
      return async (event: { n: number }, context: { id: string }) => `${context.id}:${event.n}`;
    });
    await expect(entry({ n: 1 }, { id: 'a' })).rejects.toThrow('cold start failed');
    await expect(entry({ n: 2 }, { id: 'b' })).resolves.toBe('b:2');
    await expect(entry({ n: 3 }, { id: 'c' })).resolves.toBe('c:3');
    expect(starts).toBe(2);
  });
});

describe('a deployed handler built with the kit (the breaker)', () => {
  const saved = { ledger: process.env[Env.ledgerTable], mapping: process.env[Env.eventSourceMappingId] };
  afterAll(() => {
    for (const [name, value] of [
      [Env.ledgerTable, saved.ledger],
      [Env.eventSourceMappingId, saved.mapping],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('fails its start while a variable is missing, then starts once it is set', async () => {
    delete process.env[Env.ledgerTable];
    delete process.env[Env.eventSourceMappingId];
    const { handler } = await import('../../lambdas/breaker/handler');
    const okNotification: SNSEvent = { Records: [{ Sns: { Message: JSON.stringify({ AlarmName: 'x', NewStateValue: 'OK' }) } }] } as never;
    await expect(handler(okNotification, undefined)).rejects.toThrow(`Environment variable ${Env.ledgerTable} is not set`);
    process.env[Env.ledgerTable] = 'ledger';
    process.env[Env.eventSourceMappingId] = 'mapping';
    // An OK notification needs no AWS call: it shows the handler started and ran.
    await expect(handler(okNotification, undefined)).resolves.toEqual({ paused: false });
  });
});
