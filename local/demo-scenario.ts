import { join } from 'node:path';

/** The demo's scenario: a byte-for-byte copy of `scenarios/kaiser-2000-replay.json`, kept in the project. */
export const DEMO_SCENARIO = join(__dirname, '..', 'test', 'scenarios', 'kaiser-2000-replay.json');
