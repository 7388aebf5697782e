import type { Migration } from './migration.js';

export const migration: Migration = {
  version: 11,
  why: 'trace an event from its inbound request to every delivery attempt, across restarts and processes: its trace context (a W3C traceparent) is stored with it',
  async up(q) {
    // Null for events stored with tracing off: their stages are not traced.
    await q.query('ALTER TABLE events ADD COLUMN trace TEXT');
  },
};
