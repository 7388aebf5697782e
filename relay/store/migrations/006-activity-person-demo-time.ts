import type { ProviderKey } from '../../../lib/providers/index.js';
import { activityOfStored } from '../../domain/activity.js';
import type { Migration } from './migration.js';

export const migration: Migration = {
  version: 6,
  why: 'account signals judged on what happened: each demo view indexed with its person (email without +tag), demo and viewing time; internal viewers dropped',
  async up(q) {
    await q.query('ALTER TABLE activity ADD COLUMN person TEXT');
    await q.query('ALTER TABLE activity ADD COLUMN demo TEXT');
    await q.query('ALTER TABLE activity ADD COLUMN occurred_at BIGINT');
    // The rows indexed so far, derived again from their stored bytes with today's rules.
    const rows = await q.query<{ event_id: string; provider: string; event: string; body: string; received_at: string | number }>(
      'SELECT a.event_id, e.provider, e.event, e.body, a.received_at FROM activity a JOIN events e ON e.id = a.event_id',
    );
    for (const r of rows) {
      const act = activityOfStored(r.provider as ProviderKey, r.event, r.body);
      if (!act) await q.query('DELETE FROM activity WHERE event_id = $1', [r.event_id]);
      else await q.query('UPDATE activity SET domain = $1, person = $2, demo = $3, occurred_at = $4 WHERE event_id = $5', [act.domain, act.person, act.demo, act.occurredAt ?? Number(r.received_at), r.event_id]);
    }
    await q.query('DROP INDEX activity_by_domain');
    await q.query('CREATE INDEX activity_by_company ON activity (account_id, domain, occurred_at, event_id)');
  },
};
