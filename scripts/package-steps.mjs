// The steps that turn the project into the zip Zapier runs: `npm test` runs them (with the
// jest suite between validating and building) and `npm run deploy` runs exactly these before it
// uploads, so what is uploaded is built the way the tests built and checked it.
//
// The build uses `--skip-dep-install`: it zips what the app needs from the installed
// node_modules. The CLI's default (push without it) copies all of node_modules into a
// temporary folder in parallel, which fails with EMFILE on many machines and is slow anywhere.
export const COMPILE = ['compile TypeScript', 'tsc', ['-p', '.']];
export const BUNDLE = ['bundle the app Zapier loads (dist/app.bundle.js)', 'npm', ['run', '--silent', 'bundle']];
export const VALIDATE = ['validate the app definition', 'zapier-platform', ['validate', '--without-style']];
export const BUILD = ['build build.zip', 'zapier-platform', ['build', '--skip-validation', '--skip-dep-install']];
export const SMOKE = ['smoke-test the built zip', 'node', ['dist/scripts/smoke-zip.js', 'build/build.zip']];

export const PACKAGE_STEPS = [COMPILE, BUNDLE, VALIDATE, BUILD, SMOKE];
