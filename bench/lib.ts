/** Shared pieces of the benchmark and the torture suite: statistics, load, processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { demoSessionSample } from '../lib/providers/walnut.js';
import { PROVIDERS } from '../lib/providers/index.js';
import { signRequest } from '../lib/signature.js';

export const median = (xs: number[]) => percentile(xs, 50);

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}

export const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(headers), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...cells.slice(1).map(line)].join('\n');
}

/** A Walnut demo event with its own session id (so the relay stores each one), and the headers Walnut signs it with. */
export function walnutEvent(tag: string, key = 'bench-key'): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({ ...demoSessionSample, data: { ...demoSessionSample.data, session_id: tag } });
  return { body, headers: signRequest(PROVIDERS.walnut.scheme, body, key) };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** One POST over a keep-alive connection; resolves with status and latency in ms. */
export function post(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; ms: number; text: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Closed-loop load: `n` requests with `concurrency` in flight. */
export async function closedLoop(n: number, concurrency: number, make: (i: number) => Promise<{ status: number; ms: number }>) {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        try {
          const r = await make(i);
          if (r.status !== 200) errors++;
          latencies.push(r.ms);
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { rate: n / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors, seconds };
}

/** Open-loop load at a fixed rate for `seconds`: latency as a vendor sending steadily sees it. */
export async function openLoop(ratePerSec: number, seconds: number, make: (i: number) => Promise<{ status: number; ms: number }>) {
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  let errors = 0;
  const total = Math.round(ratePerSec * seconds);
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / ratePerSec;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      make(i).then(
        (r) => {
          if (r.status !== 200) errors++;
          latencies.push(r.ms);
        },
        () => {
          errors++;
        },
      ),
    );
  }
  await Promise.all(pending);
  const achieved = total / ((performance.now() - start) / 1000);
  return { achieved, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors };
}

/** The baseline server: bare Node HTTP, reads the body and answers 200, in its own process. */
export async function spawnBareServer(): Promise<{ url: string; proc: ChildProcess }> {
  const code = `const s=require('http').createServer((q,r)=>{q.on('data',()=>{});q.on('end',()=>{r.writeHead(200,{'Content-Type':'application/json'});r.end('{"ok":true}')})});s.keepAliveTimeout=5000;s.listen(0,'127.0.0.1',()=>console.log(s.address().port))`;
  const proc = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => proc.stdout!.once('data', (c) => resolve(String(c).trim())));
  return { url: `http://127.0.0.1:${port}`, proc };
}

/**
 * CPU time (user + system, ms) the processes have used so far, from /proc (Linux; 100 ticks a
 * second): the cost of the work between two readings, whatever else shares the machine.
 */
export function cpuMsOf(procs: ChildProcess[]): number {
  let ticks = 0;
  for (const p of procs) {
    if (!p.pid) continue;
    try {
      const f = readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      return NaN; // not Linux, or gone
    }
  }
  return ticks * 10;
}

/**
 * A collector's OTLP/HTTP endpoint in its own process: answers every export 200 and counts what
 * it got; `tally()` reads the count so far (exports, bytes).
 */
export async function spawnCollector(): Promise<{ url: string; proc: ChildProcess; tally(): { exports: number; bytes: number } }> {
  const code = `let n=0,b=0;const s=require('http').createServer((q,r)=>{q.on('data',(c)=>{b+=c.length});q.on('end',()=>{n++;r.writeHead(200,{'Content-Type':'application/x-protobuf'});r.end();process.stdout.write(n+' '+b+'\\n')})});s.listen(0,'127.0.0.1',()=>console.log(s.address().port))`;
  const proc = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => proc.stdout!.once('data', (c) => resolve(String(c).trim())));
  let last = { exports: 0, bytes: 0 };
  proc.stdout!.on('data', (c: Buffer) => {
    const line = String(c).trim().split('\n').pop()!.split(' ');
    if (line.length === 2) last = { exports: Number(line[0]), bytes: Number(line[1]) };
  });
  return { url: `http://127.0.0.1:${port}`, proc, tally: () => last };
}

/**
 * The delivery baseline: a bare forwarder in its own process. It answers each inbound POST at
 * once with an id (as the relay acks), then POSTs the body on to the sink over a keep-alive
 * connection, storing nothing and never retrying.
 */
export async function spawnBareForwarder(sinkUrl: string): Promise<{ url: string; proc: ChildProcess }> {
  const code = `const http=require('http');let n=0;const agent=new http.Agent({keepAlive:true,maxSockets:32});
const s=http.createServer((q,r)=>{const c=[];q.on('data',(d)=>c.push(d));q.on('end',()=>{const id='fwd_'+(n++);const body=Buffer.concat(c);
r.writeHead(200,{'Content-Type':'application/json'});r.end(JSON.stringify({id,duplicate:false}));
const out=http.request(process.argv[1],{method:'POST',agent,headers:{'Content-Type':'application/json','Content-Length':body.length,'X-Relay-Event-Id':id}},(res)=>{res.resume()});
out.on('error',()=>{});out.end(body)})});s.keepAliveTimeout=5000;s.listen(0,'127.0.0.1',()=>console.log(s.address().port))`;
  const proc = spawn(process.execPath, ['-e', code, `${sinkUrl}/forwarded`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => proc.stdout!.once('data', (c) => resolve(String(c).trim())));
  return { url: `http://127.0.0.1:${port}`, proc };
}

/** A sink that records when each event arrives (by X-Relay-Event-Id). */
/** `delayMs`: how long each answer takes (a Zap's hook answering over the network). */
export async function startTimingSink(status = 200, delayMs = 0) {
  const arrivals = new Map<string, number>();
  let count = 0;
  const server = http.createServer((req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => {
      count++;
      const id = String(req.headers['x-relay-event-id'] ?? '');
      if (!arrivals.has(id)) arrivals.set(id, performance.now());
      if (delayMs > 0) setTimeout(() => res.writeHead(status).end(), delayMs);
      else res.writeHead(status).end();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arrivals,
    count: () => count,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export async function waitFor(pred: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
