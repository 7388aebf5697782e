#!/usr/bin/env node
'use strict';
// The relay's command line; the TypeScript compiles to ../dist (npm start and npm test build it).
let cli;
try {
  cli = require('../dist/relay/cli.js');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND') {
    process.stderr.write('demohooks-relay is not built yet: run `npm run build` (or `npm start`) in the project first.\n');
    process.exit(1);
  }
  throw err;
}
cli.main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`demohooks-relay: ${err && err.message ? err.message : err}\n`);
    process.exit(1);
  },
);
