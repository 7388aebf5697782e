import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { engagementScoreHelp } from '../lib/engagement.js';
import { TRACING_VARIABLES } from '../relay/tracing-config.js';
import { fieldsTable } from '../scripts/fields-table.js';

// dist/test → the repository root.
const ROOT = path.resolve(__dirname, '..', '..');
const read = (...p: string[]) => readFileSync(path.join(ROOT, ...p), 'utf8');

describe('README and docs/', () => {
  const readme = read('README.md');
  const guides = readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md'));
  const docs = guides.map((f) => read('docs', f)).join('\n');

  it('the README is a front door: at most 250 lines, linking every guide in docs/, each of which exists', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(250);
    expect(guides.length).toBeGreaterThanOrEqual(4);
    const linked = [...readme.matchAll(/\]\((docs\/[a-z-]+\.md)\)/g)].map((m) => m[1]);
    expect(linked.filter((l) => !existsSync(path.join(ROOT, l)))).toStrictEqual([]);
    expect(guides.filter((g) => !linked.includes(`docs/${g}`))).toStrictEqual([]);
  });

  it("the Zap builder's guide lists every trigger's output fields exactly as the code defines them", () => {
    const m = /<!-- fields:start -->\n([\s\S]*?)<!-- fields:end -->/.exec(read('docs', 'zap-builders-guide.md'));
    expect(m).not.toBeNull();
    // Regenerate with: node dist/scripts/fields-table.js
    expect(m![1]).toBe(fieldsTable());
  });

  it("the Zap builder's guide gives the engagement score's formula exactly as the field's help does", () => {
    const help = engagementScoreHelp([]);
    const formula = /: (1 \+ 4 × completion .*?), rounded\./.exec(help);
    expect(formula).not.toBeNull();
    expect(read('docs', 'zap-builders-guide.md')).toContain(`round(${formula![1]})`);
  });

  it('documents every environment variable the relay reads, with its default', () => {
    const config = read('relay', 'config.ts');
    const vars = [...new Set(config.match(/\b(?:RELAY_[A-Z_]+|HOST|PORT)(?=: )/g) ?? [])];
    expect(vars.length).toBeGreaterThan(25);
    const undocumented = vars.filter((v) => !new RegExp(`\\| [^\\n]*\`${v}\`[^\\n]*\\|`).test(docs));
    expect(undocumented).toStrictEqual([]);
    // Tracing's: the standard OpenTelemetry names the relay reads.
    expect(TRACING_VARIABLES.filter((v) => !new RegExp(`\\| [^\\n]*\`${v}\`[^\\n]*\\|`).test(docs))).toStrictEqual([]);
  });

  it('gives the two commands that .ci/run runs', () => {
    const ci = read('.ci', 'run');
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
    expect(ci).toContain('npm test');
  });

  it('says where to paste each vendor\'s webhook URL, and the "Using it in Zapier" section the app\'s errors point to', () => {
    expect(readme).toContain('## Using it in Zapier');
    for (const vendor of ['Walnut', 'Supademo', 'Pendo']) expect(readme).toMatch(new RegExp(`\\*\\*${vendor}\\*\\*( \\([^)]*\\))?: Settings`));
  });
});
