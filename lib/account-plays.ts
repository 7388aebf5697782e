/**
 * The playbook's account plays as pure functions over verified sessions (lib/signals.ts'
 * `Activity`, one entry per viewing session): an account's engagement score, the ranking of
 * the most engaged accounts, and how each demo performs. No Zapier, no HTTP.
 */
import { crmNote, f, oneLine, slackEscape, type OutputField } from './record.js';
import { DAY, peopleOf, type Activity } from './signals.js';

/** A session's weight halves every week: last week's sessions count half as much as today's. */
export const HALF_LIFE_DAYS = 7;

/**
 * An account's engagement at `atMs`: each session's engagement score (1 when it has none: a
 * demo opened) weighted by its age, halving every 7 days, and summed (`raw`, what rankings
 * use); shown from 1 to 10 as 10 × (1 − 2^(−raw ÷ 10)), rounded up, so one full-score session
 * today shows 5, three show 9. Null for an account with no session.
 */
export function accountScore(sessions: Activity[], atMs: number): { raw: number; shown: number | null } {
  let raw = 0;
  for (const s of sessions) raw += (s.engagementScore ?? 1) * 0.5 ** (Math.max(0, atMs - s.at) / (HALF_LIFE_DAYS * DAY));
  return { raw, shown: sessions.length ? Math.min(10, Math.max(1, Math.ceil(10 * (1 - 2 ** (-raw / 10)) - 1e-9))) : null };
}

/** The account score in words, for the searches' and signals' help and the guide. */
export const ACCOUNT_SCORE_HELP =
  'The account’s engagement score (1–10): each demo session’s engagement score (1 for a session with none), halved for every week of its age, summed, and shown as 10 × (1 − 2^(−sum ÷ 10)) rounded up: one full-score session today shows 5, three show 9. Rankings use the sum itself.';

export interface AccountRow {
  domain: string;
  engagement_score: number | null;
  people: number;
  sessions: number;
  total_seconds: number;
  last_session_at: string;
  top_demo: string | null;
}

/** The demo (by name, else id) with the most sessions, ties by name. */
function topDemo(sessions: Activity[]): string | null {
  const count = new Map<string, number>();
  for (const s of sessions) {
    const name = s.demoName ?? s.demo;
    if (name) count.set(name, (count.get(name) ?? 0) + 1);
  }
  return [...count.entries()].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))[0]?.[0] ?? null;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** One company's row of the digest, scored at `atMs`. */
export function accountRow(domain: string, sessions: Activity[], atMs: number): AccountRow & { raw: number } {
  const { raw, shown } = accountScore(sessions, atMs);
  return {
    domain,
    engagement_score: shown,
    people: peopleOf(sessions),
    sessions: sessions.length,
    total_seconds: sessions.reduce((n, s) => n + s.durationSeconds, 0),
    last_session_at: iso(sessions.reduce((m, s) => Math.max(m, s.at), -Infinity)),
    top_demo: topDemo(sessions),
    raw,
  };
}

/** Companies ranked by their engagement at `atMs` (the unrounded sum), then by last session, then by domain. */
export function rankAccounts(byCompany: Map<string, Activity[]>, atMs: number, limit: number): AccountRow[] {
  const rows = [...byCompany.entries()].map(([domain, sessions]) => accountRow(domain, sessions, atMs));
  rows.sort((a, b) => b.raw - a.raw || Date.parse(b.last_session_at) - Date.parse(a.last_session_at) || (a.domain < b.domain ? -1 : 1));
  return rows.slice(0, limit).map(({ raw: _raw, ...row }) => row);
}

export interface DemoRow {
  provider: string;
  demo_id: string;
  demo_name: string | null;
  sessions: number;
  people: number;
  companies: number;
  median_seconds: number | null;
  avg_completion_pct: number | null;
  cta_click_rate: number | null;
  top_exit: string | null;
}

const median = (xs: number[]): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round1 = (n: number) => Math.round(n * 10) / 10;

/**
 * Each demo's performance over `sessions`, ranked by sessions (then people, then name): the
 * median time of the sessions that say how long they were, the average completion of those
 * that say, the share of sessions that took a call-to-action (empty for a demo none of whose
 * sessions can), and the section or guide most sessions ended on.
 */
export function demoPerformance(sessions: Activity[], limit: number): DemoRow[] {
  const byDemo = new Map<string, Activity[]>();
  for (const s of sessions) {
    if (!s.demo) continue;
    const key = `${s.vendor}\n${s.demo}`;
    const list = byDemo.get(key);
    if (list) list.push(s);
    else byDemo.set(key, [s]);
  }
  const rows: DemoRow[] = [...byDemo.values()].map((ss) => {
    const exits = new Map<string, number>();
    for (const s of ss) if (s.exit) exits.set(s.exit, (exits.get(s.exit) ?? 0) + 1);
    const completions = ss.flatMap((s) => (s.completionPct === null ? [] : [Math.min(100, Math.max(0, s.completionPct))]));
    const cta = ss.filter((s) => s.ctaClicked !== null);
    return {
      provider: ss[0].vendor,
      demo_id: ss[0].demo!,
      demo_name: ss.find((s) => s.demoName)?.demoName ?? null,
      sessions: ss.length,
      people: peopleOf(ss),
      companies: new Set(ss.map((s) => s.company)).size,
      median_seconds: median(ss.flatMap((s) => (s.durationSeconds > 0 ? [s.durationSeconds] : []))),
      avg_completion_pct: completions.length ? round1(completions.reduce((a, b) => a + b, 0) / completions.length) : null,
      cta_click_rate: cta.length ? round1((100 * ss.filter((s) => s.ctaClicked === true).length) / ss.length) : null,
      top_exit: [...exits.entries()].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))[0]?.[0] ?? null,
    };
  });
  rows.sort((a, b) => b.sessions - a.sessions || b.people - a.people || ((a.demo_name ?? a.demo_id) < (b.demo_name ?? b.demo_id) ? -1 : 1));
  return rows.slice(0, limit);
}

/** The digest's texts: a Slack message ranking the accounts, one line, a CRM note. */
export function topAccountsTexts(rows: AccountRow[], days: number): { summary_text: string; slack_message: string; crm_note: string } {
  const head = `Top ${rows.length} engaged ${rows.length === 1 ? 'account' : 'accounts'}, last ${days} days`;
  const line = (r: AccountRow, i: number) =>
    `${i + 1}. ${r.domain}: engagement ${r.engagement_score}/10, ${r.people} ${r.people === 1 ? 'person' : 'people'}, ${r.sessions} ${r.sessions === 1 ? 'session' : 'sessions'}${r.top_demo ? `, most viewed "${r.top_demo}"` : ''}`;
  return {
    summary_text: oneLine(rows.length ? `${head}: ${rows.map((r, i) => `${i + 1}. ${r.domain} (${r.engagement_score}/10)`).join(', ')}.` : `No account had a verified demo session in the last ${days} days.`),
    slack_message: rows.length
      ? `:trophy: *${slackEscape(head)}*\n${rows.map((r, i) => `${i + 1}. *${slackEscape(r.domain)}* · engagement *${r.engagement_score}/10* · ${r.people} ${r.people === 1 ? 'person' : 'people'} · ${r.sessions} ${r.sessions === 1 ? 'session' : 'sessions'}${r.top_demo ? ` · ${slackEscape(r.top_demo)}` : ''}`).join('\n')}`
      : `:zzz: No account had a verified demo session in the last ${days} days.`,
    crm_note: crmNote(head, rows.map((r, i): [string, unknown] => [`${i + 1}`, line(r, i).slice(String(i + 1).length + 2)])),
  };
}

/** The demo review's texts. */
export function demoPerformanceTexts(rows: DemoRow[], days: number): { summary_text: string; slack_message: string; crm_note: string } {
  const head = `Top ${rows.length} ${rows.length === 1 ? 'demo' : 'demos'} by sessions, last ${days} days`;
  const stats = (r: DemoRow) =>
    [
      `${r.sessions} ${r.sessions === 1 ? 'session' : 'sessions'}`,
      `${r.people} ${r.people === 1 ? 'person' : 'people'}`,
      r.median_seconds !== null ? `median ${r.median_seconds}s` : null,
      r.avg_completion_pct !== null ? `${r.avg_completion_pct}% completed` : null,
      r.cta_click_rate !== null ? `CTA ${r.cta_click_rate}%` : null,
      r.top_exit ? `most left at "${r.top_exit}"` : null,
    ]
      .filter(Boolean)
      .join(', ');
  const name = (r: DemoRow) => r.demo_name ?? r.demo_id;
  return {
    summary_text: oneLine(rows.length ? `${head}: ${rows.map((r, i) => `${i + 1}. ${name(r)} (${r.sessions})`).join(', ')}.` : `No verified demo session in the last ${days} days.`),
    slack_message: rows.length
      ? `:bar_chart: *${slackEscape(head)}*\n${rows.map((r, i) => `${i + 1}. *${slackEscape(name(r))}* — ${slackEscape(stats(r))}`).join('\n')}`
      : `:zzz: No verified demo session in the last ${days} days.`,
    crm_note: crmNote(head, rows.map((r, i): [string, unknown] => [`${i + 1}. ${name(r)}`, stats(r)])),
  };
}

/** The output fields every play's one-record answer ends with. */
export const digestTailFields = (idLabel: string): OutputField[] => [
  f('days', 'Look Back (days)', 'integer'),
  f('complete', 'Every Session Counted', 'boolean'),
  f('summary_text', 'Summary'),
  f('slack_message', 'Slack Message'),
  f('crm_note', 'CRM Note'),
  f('id', idLabel),
];

/** A play's one record: its ranked rows under `listKey`, how many, the period, whether every session was read, and the texts. */
export interface PlayRecord<Row> {
  id: string;
  days: number;
  complete: boolean;
  summary_text: string;
  slack_message: string;
  crm_note: string;
  [key: string]: unknown | Row[];
}

export function playRecord<Row>(
  kind: string,
  listKey: string,
  rows: Row[],
  days: number,
  atMs: number,
  complete: boolean,
  texts: (rows: Row[], days: number) => { summary_text: string; slack_message: string; crm_note: string },
): PlayRecord<Row> {
  return { id: `${kind}:${days}d:${new Date(atMs).toISOString().slice(0, 10)}`, days, [`${listKey}_count`]: rows.length, [listKey]: rows, complete, ...texts(rows, days) };
}
