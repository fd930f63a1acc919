#!/usr/bin/env node
/**
 * Writes docs/dispatch-message.schema.json from the zod contract (`npm run schema:generate`);
 * with `--check`, changes nothing and exits 1 when the committed file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderDispatchMessageJsonSchema } from '../publisher/message-json-schema';

const SCHEMA_FILE = join(__dirname, '..', 'docs', 'dispatch-message.schema.json');

const expected = renderDispatchMessageJsonSchema();
if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(SCHEMA_FILE, 'utf8');
  } catch {
    // a missing file is stale too
  }
  if (committed !== expected) {
    process.stderr.write(`${SCHEMA_FILE} is stale: run \`npm run schema:generate\` and commit it\n`);
    process.exit(1);
  }
  process.stderr.write(`${SCHEMA_FILE} is up to date\n`);
} else {
  writeFileSync(SCHEMA_FILE, expected);
  process.stderr.write(`wrote ${SCHEMA_FILE}\n`);
}
