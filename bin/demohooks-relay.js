#!/usr/bin/env node
'use strict';
// The relay's command line; the TypeScript compiles to ../dist (npm start and npm test build it).
// It needs Node 22 (node:sqlite); the project pins it, and npx/npm scripts put it first on PATH.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(
    `demohooks-relay needs Node.js 22 or newer (this is ${process.version}). ` +
      'Run it with `npx demohooks-relay` (or `npm start`) in the project: they use the Node 22 that `npm install` put in node_modules.\n',
  );
  process.exit(1);
}
let cli;
try {
  cli = require('../dist/relay/cli/index.js');
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
