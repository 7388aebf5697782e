/**
 * How engaged one demo session was, on the playbook's 1–10 scale, and which of the team's
 * assets (Pricing, Security, Integrations…) it touched. Pure functions: every vendor module
 * scores its sessions with `engagementScore`, so a Walnut session and a Supademo one read on
 * one scale, and the account plays rank companies by the same numbers.
 */

/** What a session says about its engagement; null where the vendor does not send it. */
export interface EngagementInputs {
  /** How much of the demo was seen, 0–100 (screens or guides completed, playlist items visited). */
  completionPct: number | null;
  /** Time spent in the session, in seconds. */
  seconds: number | null;
  /** Call-to-action clicks (Walnut's FAB, a Supademo form submitted). */
  ctaClicks: number | null;
}

/** Time counts up to five minutes: the playbook's high-intent mark. */
export const SCORE_FULL_TIME_SECONDS = 300;

/**
 * The index the playbook asks for ("combine Completion Rate, Median Time Spent and FAB
 * Conversion for a simple engagement health index"), from 1 to 10:
 *
 *   1 + 4 × completion + 3 × √(min(seconds, 300) ÷ 300) + 2 × (a call-to-action clicked)
 *
 * completion as a fraction (0–1), rounded half up. Time counts on a square root: the first
 * minute says more than the fourth. An input the vendor does not send counts as nothing;
 * null only when it sends none. No input that grows can lower the score.
 */
export function engagementScore(inputs: EngagementInputs): number | null {
  const { completionPct, seconds, ctaClicks } = inputs;
  if (!finite(completionPct) && !finite(seconds) && !finite(ctaClicks)) return null;
  const completion = finite(completionPct) ? clamp(completionPct / 100, 0, 1) : 0;
  const time = finite(seconds) ? Math.sqrt(clamp(seconds, 0, SCORE_FULL_TIME_SECONDS) / SCORE_FULL_TIME_SECONDS) : 0;
  const converted = finite(ctaClicks) && ctaClicks > 0 ? 1 : 0;
  const raw = 1 + 4 * completion + 3 * time + 2 * converted;
  // The epsilon keeps a score that is exactly on a half (8.5) from rounding down through float error.
  return clamp(Math.floor(raw + 0.5 + 1e-9), 1, 10);
}

/**
 * The formula in words, for the output field's help and the Zap builder's guide, with what
 * each vendor's sessions give it (its module's `demoActivity.engagementHelp`).
 */
export const engagementScoreHelp = (vendorParts: string[]): string =>
  'How engaged this session was, 1 (opened, nothing more) to 10: 1 + 4 × completion + 3 × √(minutes spent ÷ 5, at most 1) + 2 if a call-to-action was clicked, rounded. ' +
  `${vendorParts.join(' ')}${vendorParts.length ? ' ' : ''}What the vendor does not send counts as nothing; empty when it sends none of the three.`;

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** What a trigger's asset inputs ask for: words to match, and stages by word. */
export interface AssetRules {
  /** `only_demos_matching`: the trigger returns nothing unless one of these is matched. */
  only: string[];
  /** `asset_stages`: the first pair whose word is matched gives the stage. */
  stages: Array<{ term: string; stage: string }>;
}

/** The terms of a comma-separated input (blank ones dropped, duplicates once). */
const termsOf = (raw: unknown): string[] => {
  if (typeof raw !== 'string') return [];
  const seen = new Set<string>();
  return raw
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '' && !seen.has(t.toLowerCase()) && (seen.add(t.toLowerCase()), true));
};

/**
 * The asset inputs, or the reason they cannot be read (shown when the Zap is turned on):
 * `only_demos_matching` is `Pricing, Integration`; `asset_stages` is `Pricing=Decision,
 * Security=Evaluation`.
 */
export function readAssetRules(input: Record<string, unknown>): AssetRules | { error: string } {
  const stages: AssetRules['stages'] = [];
  for (const pair of termsOf(input.asset_stages)) {
    const eq = pair.indexOf('=');
    const term = eq < 0 ? '' : pair.slice(0, eq).trim();
    const stage = eq < 0 ? '' : pair.slice(eq + 1).trim();
    if (!term || !stage) {
      return {
        error: `"Asset Stages" has "${pair.slice(0, 60)}", which is not a word, "=" and a stage. Write each as Word=Stage, separated by commas, e.g. Pricing=Decision, Security=Evaluation.`,
      };
    }
    stages.push({ term, stage });
  }
  return { only: termsOf(input.only_demos_matching), stages };
}

/** What a session's names are matched against: the demo, playlist or showcase, items visited, the last section or guide seen. */
export const ASSET_TEXT_KEYS = ['demo_name', 'playlist_name', 'entity_title', 'items_visited_names', 'last_section_viewed', 'last_guide_shown'] as const;

/** The asset outputs of a record under `rules`, or null when `only` is set and nothing matched (the trigger returns nothing). */
export function matchAssets(record: Record<string, unknown>, rules: AssetRules): { matched_terms: string | null; asset_stage: string | null } | null {
  const text = ASSET_TEXT_KEYS.map((k) => record[k])
    .filter((v): v is string => typeof v === 'string')
    .join('\n')
    .toLowerCase();
  const has = (term: string) => text.includes(term.toLowerCase());
  const onlyMatched = rules.only.filter(has);
  if (rules.only.length > 0 && onlyMatched.length === 0) return null;
  const stage = rules.stages.find((s) => has(s.term)) ?? null;
  const matched = [...onlyMatched];
  for (const s of rules.stages) if (has(s.term) && !matched.some((m) => m.toLowerCase() === s.term.toLowerCase())) matched.push(s.term);
  return { matched_terms: matched.length ? matched.join(', ') : null, asset_stage: stage?.stage ?? null };
}
