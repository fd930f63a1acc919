import { ConfigurationError } from './core/errors';

/**
 * The one way a function is built here (as middy has one way to compose a handler): each
 * `lambdas/<function>/handler.ts` exports `create…Handler(deps)` for tests and the local runtime,
 * and `handler = lambdaEntry(() => create…Handler(depsFromEnv()))` for Lambda.
 */

/** The environment variable `name`, or a ConfigurationError naming it (never its value). */
export function requiredEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value) throw new ConfigurationError(`Environment variable ${name} is not set`);
  return value;
}

/**
 * `start` runs once, on first use, and its result is kept. A start that fails (a secret not yet
 * readable, a missing variable) is not kept: the next call starts again, so one bad cold start
 * does not poison the execution environment for its whole life.
 */
export function lazyStart<T>(start: () => T | Promise<T>): () => Promise<T> {
  let started: Promise<T> | undefined;
  return () => {
    started ??= (async () => start())().catch((error: unknown) => {
      started = undefined;
      throw error;
    });
    return started;
  };
}

/**
 * The Lambda entry point: builds the handler with `start` on the first invocation (retried after
 * a failed start, see {@link lazyStart}) and passes every invocation to it.
 */
export function lambdaEntry<E, R, C = unknown>(
  start: () => ((event: E, context: C) => Promise<R>) | Promise<(event: E, context: C) => Promise<R>>,
) {
  const ready = lazyStart(start);
  return async (event: E, context: C): Promise<R> => (await ready())(event, context);
}

/** Dependencies given as they are, or as a (lazy, retried) start: what every `create…Handler` accepts. */
export type DepsOrStart<D> = D | (() => Promise<D>);

/** The dependencies of {@link DepsOrStart}, built on first use. */
export function depsOf<D extends object>(deps: DepsOrStart<D>): () => Promise<D> {
  return typeof deps === 'function' ? lazyStart(deps as () => Promise<D>) : () => Promise.resolve(deps);
}
