/**
 * Where a relay's CPU goes, by stage, from a V8 CPU profile (`--cpu-prof`) of a relay process:
 * each sample's stack is read from the innermost frame outwards and charged to the first frame
 * that names a stage. SQL is charged to "statements" wherever it was called from (a statement
 * runs in its store's queue, whose stack no longer shows the caller); BEGIN/COMMIT and the
 * write-ahead log's sync to "commit and sync".
 */
import { readFileSync } from 'node:fs';

interface Frame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: Frame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export const STAGES = ['HTTP', 'parse and identity', 'statements', 'commit and sync', 'derive', 'claim', 'attempt', 'record', 'tracing', 'logging and metrics', 'other relay work', 'runtime (GC, timers, compiler)'] as const;
export type Stage = (typeof STAGES)[number] | 'start-up' | 'idle';

const FILES: Array<[RegExp, Stage]> = [
  [/opentelemetry/, 'tracing'],
  [/\/relay\/(log|metrics)\.js$/, 'logging and metrics'],
  [/\/relay\/delivery\/recorder\.js$|\/relay\/store\/deliveries\/outcomes\.js$/, 'record'],
  [/\/relay\/delivery\/(attempt|targets)\.js$|^node:_http_(client|agent)$|^node:https$|^node:dns$|^node:internal\/dns/, 'attempt'],
  [/\/relay\/delivery\/(ready-queue|deliverer)\.js$|\/relay\/store\/deliveries\/(claim|pacing)\.js$|\/relay\/domain\/(pacing|fairness)\.js$/, 'claim'],
  [/\/relay\/ingest\/deriver\.js$|\/relay\/store\/(derive|activity)\.js$|\/relay\/store\/deliveries\/fanout\.js$/, 'derive'],
  [/\/relay\/ingest\/intake\.js$|\/relay\/domain\/identity\.js$/, 'parse and identity'],
  [/\/node_modules\/(pg|pg-protocol|pg-pool|pg-types)\/|\/relay\/store\/(events|sql|dialect)\.js$|\/relay\/loops\/group-commit\.js$/, 'statements'],
  [/\/node_modules\/(fastify|@fastify\/[^/]+|find-my-way|avvio|light-my-request|fast-json-stringify|zod|fastify-type-provider-zod)\/|^node:_http_server$|^node:_http_incoming$|\/relay\/http\//, 'HTTP'],
  [/^node:internal\/modules\//, 'start-up'],
  [/\/relay\/(services|alerts|store)\//, 'other relay work'],
];

function stageOf(frame: Frame): Stage | null {
  const { url, functionName: fn } = frame;
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)' || fn === '(program)') return 'runtime (GC, timers, compiler)';
  if (fn === 'fdatasync' || fn === 'datasync') return 'commit and sync';
  if (/\/relay\/store\/db\.js$/.test(url)) {
    if (fn === 'flush' || fn === 'sync' || fn === 'durable') return 'commit and sync';
    // The transaction's own body: BEGIN IMMEDIATE and COMMIT (its statements have frames of their own).
    if (fn === '' || fn === 'tx') return 'commit and sync';
    return 'statements';
  }
  for (const [re, stage] of FILES) if (re.test(url)) return stage;
  return null;
}

/** Milliseconds of CPU by stage (idle and start-up apart). */
export function stagesOf(file: string): Map<Stage, number> {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const memo = new Map<number, Stage>();
  const stageOfNode = (id: number): Stage => {
    const known = memo.get(id);
    if (known) return known;
    let stage: Stage | null = null;
    for (let cur: number | undefined = id; cur !== undefined && !stage; cur = parent.get(cur)) stage = stageOf(byId.get(cur)!.callFrame);
    memo.set(id, stage ?? 'runtime (GC, timers, compiler)');
    return memo.get(id)!;
  };
  const out = new Map<Stage, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const s = stageOfNode(p.samples[i]);
    out.set(s, (out.get(s) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  }
  return out;
}
