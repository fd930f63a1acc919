import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LocalPipelineError } from './errors';

/**
 * Finds an installed package's directory by walking up from this file. `require.resolve` cannot
 * be used for ESM-only packages (their `exports` have no `require` condition).
 */
export function packageDir(name: string, from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) throw new LocalPipelineError(`Package ${name} is not installed: run npm ci`);
  }
}

/** Absolute path of a package's main entry for the given condition (`import` or `require`). */
export function packageEntry(name: string, condition: 'import' | 'require'): string {
  const dir = packageDir(name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    main?: string;
    exports?: Record<string, unknown>;
  };
  const root = pkg.exports?.['.'] as Record<string, unknown> | string | undefined;
  let entry: string | undefined;
  if (typeof root === 'string') entry = root;
  else if (root && typeof root === 'object') {
    const branch = root[condition] ?? root.default;
    entry = typeof branch === 'string' ? branch : ((branch as Record<string, string> | undefined)?.default ?? undefined);
  }
  return join(dir, entry ?? pkg.main ?? 'index.js');
}
