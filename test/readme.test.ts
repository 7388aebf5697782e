import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fieldsTable } from '../scripts/fields-table.js';

// dist/test → the repository root.
const README = path.resolve(__dirname, '..', '..', 'README.md');

describe('README', () => {
  const text = readFileSync(README, 'utf8');

  it("lists every trigger's output fields exactly as the code defines them", () => {
    const m = /<!-- fields:start -->\n([\s\S]*?)<!-- fields:end -->/.exec(text);
    expect(m).not.toBeNull();
    // Regenerate with: node dist/scripts/fields-table.js
    expect(m![1]).toBe(fieldsTable());
  });

  it('documents every environment variable the relay reads, with its default', () => {
    const config = readFileSync(path.resolve(__dirname, '..', '..', 'relay', 'config.ts'), 'utf8');
    const vars = [...new Set(config.match(/\b(?:RELAY_[A-Z_]+|HOST|PORT)(?=: )/g) ?? [])];
    expect(vars.length).toBeGreaterThan(25);
    const undocumented = vars.filter((v) => !new RegExp(`\\| [^\\n]*\`${v}\`[^\\n]*\\|`).test(text));
    expect(undocumented).toStrictEqual([]);
  });

  it('gives the two commands that .ci/run runs', () => {
    const ci = readFileSync(path.resolve(__dirname, '..', '..', '.ci', 'run'), 'utf8');
    expect(text).toContain('npm install && npm start');
    expect(text).toContain('npm test');
    expect(ci).toContain('npm test');
  });
});
