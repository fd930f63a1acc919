#!/usr/bin/env node
/**
 * Writes the contracts' JSON Schemas into docs/ from the zod schemas (`npm run schema:generate`):
 * the message the portal publishes and the outcome event it receives back. With `--check`,
 * changes nothing and exits 1 when a committed file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderDispatchMessageJsonSchema } from '../publisher/message-json-schema';
import { renderOutcomeEventJsonSchema } from '../publisher/outcome-event-json-schema';

const DOCS = join(__dirname, '..', 'docs');
const SCHEMAS: readonly (readonly [string, () => string])[] = [
  [join(DOCS, 'dispatch-message.schema.json'), renderDispatchMessageJsonSchema],
  [join(DOCS, 'outcome-event.schema.json'), renderOutcomeEventJsonSchema],
];

const check = process.argv.includes('--check');
let stale = false;
for (const [file, render] of SCHEMAS) {
  const expected = render();
  if (!check) {
    writeFileSync(file, expected);
    process.stderr.write(`wrote ${file}\n`);
    continue;
  }
  let committed = '';
  try {
    committed = readFileSync(file, 'utf8');
  } catch {
    // a missing file is stale too
  }
  if (committed === expected) process.stderr.write(`${file} is up to date\n`);
  else {
    stale = true;
    process.stderr.write(`${file} is stale: run \`npm run schema:generate\` and commit it\n`);
  }
}
if (stale) process.exit(1);
