/**
 * The table of output fields per trigger in docs/zap-builders-guide.md, generated from the trigger definitions.
 * `node dist/scripts/fields-table.js` prints it; a test fails when the guide's copy differs.
 */
import App from '../index.js';
import { DEMO_SESSION_KEY } from '../lib/demo-session-trigger.js';
import { commonOutputFields } from '../lib/record.js';

export function fieldsTable(): string {
  const rows: string[] = [];
  const triggers = App.triggers as Record<string, any>;
  rows.push('| trigger | label | relay event | output fields (besides the common ones) |');
  rows.push('| --- | --- | --- | --- |');
  const common = new Set<string>(commonOutputFields.map((f) => f.key));
  const searches = Object.entries((App.searches ?? {}) as Record<string, any>);
  for (const [key, t] of [...Object.entries(triggers), ...searches]) {
    // The account signals and the search are not vendor events: their fields are listed whole.
    const search = searches.some(([k]) => k === key);
    const signal = key.startsWith('account_') || search;
    const fields = (t.operation.outputFields as Array<{ key: string }>).map((f) => f.key).filter((k) => signal || !common.has(k));
    // Line items: `items[]id, items[]name` → `items[]{id, name}`.
    const grouped: string[] = [];
    const items = new Map<string, string[]>();
    for (const k of fields) {
      const m = /^(.+)\[\](.+)$/.exec(k);
      if (m) {
        if (!items.has(m[1])) {
          items.set(m[1], []);
          grouped.push(`@@${m[1]}`);
        }
        items.get(m[1])!.push(m[2]);
      } else grouped.push(k);
    }
    const text = grouped.map((g) => (g.startsWith('@@') ? `\`${g.slice(2)}[]\` {${items.get(g.slice(2))!.join(', ')}}` : `\`${g}\``)).join(', ');
    const relayEvent = search ? 'search: `GET /v1/activity`' : t.operation.type === 'polling' ? 'poll: `GET /v1/activity/companies`' : signal || key === DEMO_SESSION_KEY ? '`demo.activity`' : key.endsWith('_any_event') ? `\`${key.split('_')[0]}.*\`` : `\`${key.split('_')[0]}.${(t as any).operation.sample.event}\``;
    rows.push(`| \`${key}\` | ${t.display.label} | ${relayEvent} | ${text} |`);
  }
  return `Common to every vendor trigger: ${[...common].map((k) => `\`${k}\``).join(', ')}. The account signals and plays and the searches list all of theirs.\n\n${rows.join('\n')}\n`;
}

if (require.main === module) process.stdout.write(fieldsTable());
