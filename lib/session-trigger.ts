/**
 * What every demo-session trigger adds to the vendor's record: the asset tags a rep is told by
 * (only_demos_matching, asset_stages) and the viewer's history. The vendor triggers for session
 * events and the any-vendor "New Demo Session" trigger share it.
 */
import type { Bundle, ZObject } from 'zapier-platform-core';
import { demoActivityOf } from './activity.js';
import { ACTIVITY_PAGE } from './activity-reads.js';
import { companyOfDomain } from './company.js';
import { engagementScoreHelp, matchAssets, readAssetRules, type AssetRules } from './engagement.js';
import type { DemoRecord } from './pipeline.js';
import type { ProviderSpec } from './providers/index.js';
import { f, type OutputField } from './record.js';
import { HISTORY_COUNTS, HISTORY_MAX_PAGES, NO_HISTORY, viewerHistory, viewerHistoryField, viewerHistoryOutputFields, type ViewerHistory } from './viewer-history.js';

export const onlyDomainsField = {
  key: 'only_domains',
  label: 'Only Companies',
  type: 'string' as const,
  required: false,
  helpText:
    'Your key accounts, as comma-separated company domains or emails: `acme.io, globex.com`. Only those companies’ viewers count (subdomains included). Empty: every company.',
};

export const onlyDemosMatchingField = {
  key: 'only_demos_matching',
  label: 'Only Demos Matching',
  type: 'string' as const,
  required: false,
  helpText:
    'Comma-separated words, e.g. `Pricing, Integration`: the Zap runs only for sessions whose demo, playlist or showcase name, a playlist item visited, or the last section or guide seen contains one of them (any case). Empty: every session.',
};

export const assetStagesField = {
  key: 'asset_stages',
  label: 'Asset Stages',
  type: 'string' as const,
  required: false,
  helpText:
    'Tag each session with the deal stage of the asset seen, as Word=Stage pairs: `Pricing=Decision, Security=Evaluation, Integration=Evaluation`. The first word found (in the same names as "Only Demos Matching") gives "Asset Stage".',
};

/**
 * 2000 → "2,000". Not toLocaleString: the first Intl call of a process loads ICU's locale data,
 * about 15 ms of every cold start for one number in a help text.
 */
const thousands = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/**
 * Above a session trigger's inputs, what the fields it adds mean: Zapier's output fields carry
 * no help text, and the editor shows this where the builder maps them.
 */
export const sessionFieldsHelp = (providers: ProviderSpec[]) => [
  {
    key: 'session_score',
    type: 'copy' as const,
    helpText: [
      `**Engagement Score (1-10)**: ${engagementScoreHelp(providers.flatMap((p) => (p.demoActivity?.engagementHelp ? [p.demoActivity.engagementHelp] : [])))}`,
      '**Occurred At** is when the viewing happened; **Sent At** is when the vendor sent it, where its webhook says so apart.',
    ].join('\n\n'),
  },
  {
    key: 'session_history',
    type: 'copy' as const,
    helpText: [
      `**Viewer history**: "Viewer Sessions So Far" counts this person's demo sessions the relay remembers, up to and including this one; "First Session" is true when none came before; "Company Sessions in 30 Days" and "Company People in 30 Days" count the viewer's company up to this session (its newest ${thousands(HISTORY_MAX_PAGES * ACTIVITY_PAGE)} events). ${HISTORY_COUNTS}`,
      '**Matched Terms** lists the words of "Only Demos Matching" and "Asset Stages" this session matched; **Asset Stage** is the stage of the first word of "Asset Stages" it matched.',
    ].join('\n\n'),
  },
];

/** A session trigger's inputs after its vendor's: what the fields mean, the history, key accounts and asset words. */
export const sessionInputFields = (providers: ProviderSpec[]) => [...sessionFieldsHelp(providers), viewerHistoryField, onlyDomainsField, onlyDemosMatchingField, assetStagesField];

/** `only_domains`: each domain or email folded to its company; empty for every company. */
export function onlyCompanies(input: Record<string, unknown>): Set<string> {
  const raw = typeof input.only_domains === 'string' ? input.only_domains : '';
  return new Set(raw.split(/[,\s;]+/).map((d) => companyOfDomain(d) ?? d.trim().toLowerCase()).filter(Boolean));
}

export const assetOutputFields: OutputField[] = [
  f('matched_terms', 'Matched Terms'),
  f('asset_stage', 'Asset Stage'),
];

export const sessionOutputFields: OutputField[] = [...assetOutputFields, ...viewerHistoryOutputFields];

/** The asset inputs, or a refusal that says what to write (when the Zap is turned on, and at every run). */
export function assetRules(z: ZObject, input: Record<string, unknown>): AssetRules {
  const rules = readAssetRules(input);
  if ('error' in rules) throw new z.errors.Error(`${rules.error} Change it in the trigger's fields and turn the Zap on again.`, 'input_invalid', 400);
  return rules;
}

/** `add_viewer_history`: on unless turned off (a Zap made before the field existed gets it too). */
export const historyWanted = (input: Record<string, unknown>): boolean => {
  const v = input.add_viewer_history;
  return v === undefined || v === null || v === true || (typeof v === 'string' && !['false', 'no', '0', 'off'].includes(v.trim().toLowerCase()));
};

/**
 * The record with its asset tags, or null when "Only Companies" or "Only Demos Matching" leaves
 * it out. The company is the one the account signals count the session for, else the viewer's
 * domain.
 */
export function matchSession(z: ZObject, input: Record<string, unknown>, provider: ProviderSpec, payload: Record<string, unknown>, record: DemoRecord): DemoRecord | null {
  const only = onlyCompanies(input);
  if (only.size > 0) {
    const company = demoActivityOf(provider, record.event, payload)?.company ?? companyOfDomain(record.viewer_domain);
    if (!company || !only.has(company)) return null;
  }
  const assets = matchAssets(record, assetRules(z, input));
  return assets ? ({ ...record, ...assets } as DemoRecord) : null;
}

/** The record with the viewer's history (empty when not `wanted` or when it cannot be counted). */
export async function withHistory(
  z: ZObject,
  bundle: Bundle,
  provider: ProviderSpec,
  payload: Record<string, unknown>,
  record: DemoRecord,
  opts: { includeTest: boolean; wanted: boolean },
): Promise<DemoRecord> {
  const history: ViewerHistory = opts.wanted ? await viewerHistory(z, bundle, provider, record.event, payload, opts.includeTest) : NO_HISTORY;
  return { ...record, ...history } as DemoRecord;
}

/**
 * A session trigger's sample: the vendor's sample with no asset words set, and the history the
 * documented session would get on a relay that remembers nothing else (its viewer's first
 * session), or none where its viewer is not counted (no company behind the email).
 */
export function sessionSample(provider: ProviderSpec, payload: Record<string, unknown>, record: DemoRecord): DemoRecord {
  const counted = demoActivityOf(provider, record.event, payload) !== null;
  const history: ViewerHistory = counted
    ? { viewer_session_count: 1, viewer_first_seen_at: record.occurred_at, is_first_session: true, company_session_count_30d: 1, company_people_count_30d: 1 }
    : NO_HISTORY;
  return { ...record, matched_terms: null, asset_stage: null, ...history } as DemoRecord;
}

/** Whether an event of a vendor is a demo session (it counts as demo activity). */
export const isSessionEvent = (provider: ProviderSpec, eventType: string | null | undefined): boolean =>
  !!eventType && !!provider.demoActivity?.events.includes(eventType);
