/**
 * The web console's static files (relay/console), served at / with a strict
 * Content-Security-Policy: scripts and styles from this origin only, no inline code, no
 * frames, API calls to this origin only. The page signs in with an API key kept in session
 * storage and sent as a bearer header (no cookies, so no CSRF surface).
 */
import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import path from 'node:path';
import { PROVIDERS } from '../../lib/providers/index.js';

// dist/relay/http → the project root → relay/console (static files are not compiled).
const DIR = path.resolve(__dirname, '..', '..', '..', 'relay', 'console');

// uPlot, the chart library (MIT, no dependencies): served from this origin, never a CDN.
const UPLOT = path.dirname(require.resolve('uplot'));

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: path.join(DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/console.js': { file: path.join(DIR, 'console.js'), type: 'text/javascript; charset=utf-8' },
  '/console.css': { file: path.join(DIR, 'console.css'), type: 'text/css; charset=utf-8' },
  '/vendor/uplot.min.js': { file: path.join(UPLOT, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/uplot.min.css': { file: path.join(UPLOT, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The vendors for the console's lists and help, from the vendor modules: a script, as the CSP allows only this origin's. */
const vendorsScript = () =>
  `window.DEMOHOOKS_VENDORS = ${JSON.stringify(Object.values(PROVIDERS).map((p) => ({ key: p.key, label: p.label, where: p.consoleHelp, events: [...p.events.map((e) => `${p.key}.${e.event}`), `${p.key}.*`] })))};\n`;

/** The console's static files (and the vendor list), read once, each with the strict headers above. */
export const consolePlugin: FastifyPluginAsync = async (fastify) => {
  const files: Record<string, { type: string; body: Buffer }> = {
    ...Object.fromEntries(Object.entries(FILES).map(([route, e]) => [route, { type: e.type, body: readFileSync(e.file) }])),
    '/vendors.js': { type: 'text/javascript; charset=utf-8', body: Buffer.from(vendorsScript()) },
  };
  for (const [route, { type, body }] of Object.entries(files)) {
    fastify.get(route, { schema: { hide: true } }, async (_request, reply) =>
      reply
        .headers({
          'Content-Type': type,
          'Content-Security-Policy': CONSOLE_CSP,
          'X-Content-Type-Options': 'nosniff',
          'Referrer-Policy': 'no-referrer',
          'Cache-Control': 'no-cache',
        })
        .send(body),
    );
  }
};
