// Zapier loads the app from ./index.js. The TypeScript sources compile to ./dist (tsc, which
// also type-checks), and `npm run bundle` (esbuild) makes the app one minified file (function
// names kept for stack traces, dist/app.bundle.js.map beside it) with only the parts of zod it
// uses: a fresh Zapier process loads one file instead of about 150, with every trigger's sample
// computed when it was built (scripts/bundle.mjs).
module.exports = require('./dist/app.bundle.js').default;
