/**
 * A stand-in for Zapier's side of a hook, in its own process as Zapier's runtime is: every
 * POST is handed to the real trigger perform (raw body, `Http-` headers) with one z.cache for
 * the whole run, as one Zap's connection has. `GET /stats` reports what arrived over HTTP and
 * what entered the Zap. Used by the torture suite's SIGKILL rounds.
 *
 * env: TRIGGER (trigger key), AUTH (JSON authData), SUBSCRIBE (JSON subscribeData)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zapier from 'zapier-platform-core';
import App from '../index.js';
import { asZapierHookHeaders } from '../lib/signature.js';

const appTester = zapier.createAppTester(App);
const perform = (App.triggers as any)[process.env.TRIGGER ?? 'walnut_demo_session_finished'].operation.perform;
const authData = JSON.parse(process.env.AUTH ?? '{}');
let subscribeData: unknown = JSON.parse(process.env.SUBSCRIBE ?? 'null');
const httpDeliveries = new Map<string, number>();
const intoZap = new Map<string, number>();
let errors = 0;


const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    if (req.method === 'GET' && req.url === '/stats') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ httpDeliveries: Object.fromEntries(httpDeliveries), intoZap: Object.fromEntries(intoZap), errors }));
      return;
    }
    if (req.method === 'PUT' && req.url === '/subscription') {
      subscribeData = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(204).end();
      return;
    }
    const id = String(req.headers['x-relay-event-id']);
    httpDeliveries.set(id, (httpDeliveries.get(id) ?? 0) + 1);
    try {
      const headers = asZapierHookHeaders(req.headers);
      const records = (await appTester(perform, { authData, inputData: {}, subscribeData, rawRequest: { method: 'POST', content: Buffer.concat(chunks).toString('utf8'), headers } } as any)) as Array<{ id: string }>;
      for (const r of records) intoZap.set(r.id, (intoZap.get(r.id) ?? 0) + 1);
      res.writeHead(200).end();
    } catch {
      errors++;
      res.writeHead(500).end();
    }
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
