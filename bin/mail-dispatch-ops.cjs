#!/usr/bin/env node
// The `mail-dispatch` command: runs the TypeScript entry through tsx, so the CLI needs no build step.
require('tsx/cjs');
require('./mail-dispatch-ops.ts')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
