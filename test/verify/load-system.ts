/**
 * Loads the REAL dispatcher, breaker, feedback, registry and ops code for the harness: bundled
 * from the repository's sources by esbuild (SDK packages stay external), with the module's
 * clock, timers, randomness and UUIDs routed to the model world that is running it. A mutation
 * is a text patch applied to one source file on the way in (the old behaviour switched back on);
 * a patch that no longer matches the source fails loudly instead of testing nothing.
 *
 * Each Lambda execution environment gets its own evaluation of the bundle (fresh module state,
 * as a new environment has), from one compiled script.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import * as esbuild from 'esbuild';

export const REPO_ROOT = join(__dirname, '..', '..');

/** One textual change to one source file (path relative to the repository root). */
export interface SourcePatch {
  readonly file: string;
  readonly find: string | RegExp;
  readonly replace: string;
}

/** What the bundled code calls instead of the real clock, timers and randomness. */
export interface VerifyRuntime {
  nowMs(): number;
  /** `node:timers/promises` setTimeout: a scheduling point that lets model time pass. */
  sleep(ms: number): Promise<void>;
  /** Global `setTimeout` inside the real code (rate limiter, back-offs). */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  random(): number;
  uuid(): string;
}

declare global {
  // eslint-disable-next-line no-var
  var __verifyRuntime: VerifyRuntime | undefined;
}

function runtime(): VerifyRuntime {
  const r = globalThis.__verifyRuntime;
  if (!r) throw new Error('verify runtime not installed: the real code ran outside a model world');
  return r;
}

/** Installs the hooks (a world calls this before it runs anything). */
export function installRuntime(r: VerifyRuntime): void {
  globalThis.__verifyRuntime = r;
}

const ModelDate = class extends Date {
  constructor(...args: unknown[]) {
    if (args.length === 0) super(runtime().nowMs());
    else super(...(args as [string]));
  }
  static now(): number {
    return runtime().nowMs();
  }
};

(globalThis as Record<string, unknown>).__verifyShims = {
  Date: ModelDate,
  setTimeout: (fn: () => void, ms: number) => runtime().setTimeout(fn, ms),
  clearTimeout: (h: unknown) => runtime().clearTimeout(h),
  random: () => runtime().random(),
  timersPromises: {
    setTimeout: (ms: number, value?: unknown) =>
      runtime()
        .sleep(Number(ms) || 0)
        .then(() => value),
    setImmediate: (value?: unknown) => Promise.resolve(value),
  },
  uuid: () => runtime().uuid(),
};

/** The modules of one dispatcher execution environment. */
const DISPATCHER_MODULES: Record<string, string> = {
  dispatcherHandler: 'lambdas/dispatcher/handler.ts',
  dispatcherDeps: 'lambdas/dispatcher/dependencies.ts',
};

/** The modules the other actors (breaker, feedback, operators) drive, by a stable name. */
const ENTRY_MODULES: Record<string, string> = {
  breaker: 'lambdas/breaker/handler.ts',
  feedback: 'lambdas/feedback/handler.ts',
  feedbackStore: 'lambdas/adapters/dynamodb-feedback-store.ts',
  pauseSwitch: 'lambdas/adapters/dynamodb-pause-switch.ts',
  eventSourceSwitch: 'lambdas/adapters/lambda-event-source-switch.ts',
  ledger: 'lambdas/adapters/dynamodb-dispatch-ledger.ts',
  registry: 'lambdas/adapters/dynamodb-member-registry.ts',
  address: 'lambdas/core/address.ts',
  resume: 'cli/src/ops/resume.ts',
  pause: 'cli/src/ops/pause.ts',
  redrive: 'cli/src/ops/redrive.ts',
  provision: 'local/provision.ts',
};

/** Optional modules (landing as other work lands): bundled when the file exists. */
const OPTIONAL_MODULES: Record<string, string> = {
  inDoubt: 'cli/src/ops/in-doubt.ts',
};

export type LoadedModules = Record<string, Record<string, any>>;

export interface LoadedSystem {
  /** A fresh evaluation of the real code: one dispatcher execution environment's modules, or the other actors'. */
  instantiate(group?: 'dispatcher' | 'others'): LoadedModules;
  readonly patches: readonly SourcePatch[];
}

const cache = new Map<string, Promise<LoadedSystem>>();

/** Bundles the real code with `patches` applied (cached per patch set). */
export function loadSystem(patches: readonly SourcePatch[] = []): Promise<LoadedSystem> {
  const id = JSON.stringify(patches.map((p) => [p.file, String(p.find), p.replace]));
  let loaded = cache.get(id);
  if (!loaded) cache.set(id, (loaded = build(patches)));
  return loaded;
}

/** The pure core (lambdas/core, no module state by the style guide): evaluated once per load, shared by environments. */
const CORE_DIR = join(REPO_ROOT, 'lambdas', 'core');
const CORE_PREFIX = 'verify-core:';

function shimPlugin(patches: readonly SourcePatch[], applied: Set<SourcePatch>, externalCore: boolean): esbuild.Plugin {
  return {
    name: 'verify-shims',
    setup(b) {
      b.onResolve({ filter: /^(node:)?timers\/promises$/ }, () => ({ path: 'timers-promises', namespace: 'verify-shim' }));
      b.onResolve({ filter: /^(node:)?crypto$/ }, (args) =>
        args.namespace === 'verify-shim' ? { path: 'node:crypto', external: true } : { path: 'crypto', namespace: 'verify-shim' },
      );
      b.onLoad({ filter: /.*/, namespace: 'verify-shim' }, (args) => ({
        contents:
          args.path === 'crypto'
            ? 'const real = require("node:crypto"); module.exports = { ...real, randomUUID: () => globalThis.__verifyShims.uuid() };'
            : 'module.exports = globalThis.__verifyShims.timersPromises;',
        loader: 'js',
      }));
      if (externalCore) {
        b.onResolve({ filter: /\/core\// }, (args) => {
          if (!args.importer || args.importer.startsWith(CORE_DIR)) return undefined;
          const target = join(args.resolveDir, args.path);
          if (!target.startsWith(CORE_DIR)) return undefined;
          return { path: `${CORE_PREFIX}${relative(CORE_DIR, target).replace(/\.ts$/, '')}`, external: true };
        });
      }
      if (patches.length === 0) return;
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        const file = relative(REPO_ROOT, args.path);
        const mine = patches.filter((p) => p.file === file);
        if (mine.length === 0) return undefined;
        let text = readFileSync(args.path, 'utf8');
        for (const patch of mine) {
          const next = text.replace(patch.find, patch.replace);
          if (next === text) throw new Error(`mutation patch does not apply to ${file}: ${String(patch.find).slice(0, 120)}`);
          text = next;
          applied.add(patch);
        }
        return { contents: text, loader: 'ts' };
      });
    },
  };
}

const DEFINE = {
  Date: 'globalThis.__verifyShims.Date',
  setTimeout: 'globalThis.__verifyShims.setTimeout',
  clearTimeout: 'globalThis.__verifyShims.clearTimeout',
  'Math.random': 'globalThis.__verifyShims.random',
};

async function bundle(contents: string, plugin: esbuild.Plugin): Promise<Bundle> {
  const result = await esbuild.build({
    stdin: { contents, resolveDir: REPO_ROOT, loader: 'ts', sourcefile: 'verify-entry.ts' },
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    logLevel: 'silent',
    define: DEFINE,
    plugins: [plugin],
  });
  // Compiled in the caller's realm (jest runs tests in a vm context of its own), once.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function(
    'exports',
    'require',
    'module',
    '__filename',
    '__dirname',
    `${result.outputFiles[0].text}\n//# sourceURL=verify-bundle.js`,
  ) as Bundle;
}

type Bundle = (...args: unknown[]) => void;

/** Runs the bundle's module body once more: compiled once, its closures are new each call. */
function evaluate(fn: Bundle, req: (id: string) => unknown): LoadedModules {
  const module = { exports: {} as LoadedModules };
  fn(module.exports, req, module, join(REPO_ROOT, 'lambdas', 'verify-bundle.js'), join(REPO_ROOT, 'lambdas'));
  return module.exports;
}

async function build(patches: readonly SourcePatch[]): Promise<LoadedSystem> {
  const { existsSync, readdirSync } = await import('node:fs');
  const modules = { ...ENTRY_MODULES };
  for (const [name, file] of Object.entries(OPTIONAL_MODULES)) if (existsSync(join(REPO_ROOT, file))) modules[name] = file;
  const entryOf = (mods: Record<string, string>) =>
    Object.entries(mods)
      .map(([name, file]) => `export * as ${name} from ${JSON.stringify(`./${file.replace(/\.ts$/, '')}`)};`)
      .join('\n');
  const applied = new Set<SourcePatch>();
  const coreFiles = readdirSync(CORE_DIR)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.replace(/\.ts$/, ''));
  const coreEntry = coreFiles.map((f, i) => `export * as m${i} from './lambdas/core/${f}';`).join('\n');
  const coreScript = await bundle(coreEntry, shimPlugin(patches, applied, false));
  const envScript = await bundle(entryOf(DISPATCHER_MODULES), shimPlugin(patches, applied, true));
  const othersScript = await bundle(entryOf(modules), shimPlugin(patches, applied, true));
  const missing = patches.filter((p) => !applied.has(p));
  if (missing.length > 0) throw new Error(`mutation patch never applied (file not bundled?): ${missing.map((p) => p.file).join(', ')}`);
  const realRequire = createRequire(join(REPO_ROOT, 'lambdas', 'verify-bundle.js'));
  const coreExports = evaluate(coreScript, realRequire);
  const core = new Map(coreFiles.map((f, i) => [f, coreExports[`m${i}`]]));
  const required = new Map<string, unknown>();
  const envRequire = (id: string): unknown => {
    if (!id.startsWith(CORE_PREFIX)) {
      if (!required.has(id)) required.set(id, realRequire(id));
      return required.get(id);
    }
    const mod = core.get(id.slice(CORE_PREFIX.length));
    if (!mod) throw new Error(`core module not bundled: ${id}`);
    return mod;
  };
  return {
    patches,
    instantiate: (group = 'dispatcher') => evaluate(group === 'dispatcher' ? envScript : othersScript, envRequire),
  };
}
