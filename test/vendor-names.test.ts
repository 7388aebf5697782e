/**
 * A vendor is one module: outside lib/providers/ and the trigger files, the code the app and
 * the relay run names no vendor. Texts, lists, checks and signing are built from PROVIDERS, so
 * a fourth vendor is its module, its trigger files and one registration line. Comments may
 * name a vendor as an example; code may not, except where the allowlist below says why.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PROVIDERS } from '../lib/providers/index.js';

const ROOT = path.resolve(__dirname, '..', '..');

/** What ships: the app and the relay (tests, benches and scripts exercise vendors by name on purpose). */
const SCANNED = ['index.ts', 'authentication.ts', 'lib', 'creates', 'searches', 'relay'];
const EXEMPT_DIRS = [path.join('lib', 'providers'), path.join('relay', 'test')];

/** The few places that must name a vendor, each with the reason. */
const ALLOWED: Array<{ file: string; line: RegExp; why: string }> = [
  { file: 'index.ts', line: /^import \w+ from '\.\/triggers\/\w+\.js';$/, why: 'the app registers each trigger file: a vendor\'s trigger lines' },
  { file: 'index.ts', line: /^\[\w+\.key\]: \w+,$/, why: 'the app registers each trigger file: a vendor\'s trigger lines' },
];

const files = (rel: string): string[] => {
  const abs = path.join(ROOT, rel);
  if (!statSync(abs).isDirectory()) return [rel];
  if (EXEMPT_DIRS.includes(rel)) return [];
  return readdirSync(abs).flatMap((f) => files(path.join(rel, f)));
};

/** The code of a file with its comments blanked (line numbers kept). */
const code = (text: string): string =>
  text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/(^|[^:'"`])\/\/.*$/gm, '$1');

describe('no vendor named outside its module', () => {
  const names = Object.values(PROVIDERS).flatMap((p) => [p.key, p.label]);
  const pattern = new RegExp(`\\b(${[...new Set(names.map((n) => n.toLowerCase()))].join('|')})`, 'i');
  const sources = SCANNED.flatMap(files).filter((f) => /\.(ts|js|mjs|html|css)$/.test(f));

  it('scans the app and relay sources (positive control: the pattern finds a name where one is)', () => {
    expect(sources.length).toBeGreaterThan(30);
    expect(pattern.test(`import x from './triggers/${Object.values(PROVIDERS)[0].key}_any_event.js';`)).toBe(true);
  });

  it('finds a vendor name only in the allowed places', () => {
    const found: string[] = [];
    for (const file of sources) {
      const lines = code(readFileSync(path.join(ROOT, file), 'utf8')).split('\n');
      lines.forEach((raw, i) => {
        const line = raw.trim();
        if (!pattern.test(line)) return;
        if (ALLOWED.some((a) => a.file === file && a.line.test(line))) return;
        found.push(`${file}:${i + 1}: ${line.slice(0, 120)}`);
      });
    }
    expect(found).toStrictEqual([]);
  });
});
