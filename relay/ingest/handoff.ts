/**
 * What intake already derived of a fresh event (its demo activity), kept in this process's
 * memory for the deriver so it need not parse the body again. Only a shortcut: the store is the
 * truth, and an event not found here (another process's, or stored before a restart) is
 * derived from its stored bytes.
 */
import type { ActivityIndex } from '../domain/activity.js';

/** Bounded: entries another process derived first are never taken here; the oldest go. */
const MAX_ENTRIES = 20_000;

export class Handoff {
  private readonly map = new Map<string, ActivityIndex | null>();

  remember(eventId: string, activity: ActivityIndex | undefined): void {
    if (this.map.size >= MAX_ENTRIES) this.map.delete(this.map.keys().next().value!);
    this.map.set(eventId, activity ?? null);
  }

  get known(): ReadonlyMap<string, ActivityIndex | null> {
    return this.map;
  }

  /** Derived: no longer needed. */
  forget(eventIds: string[]): void {
    for (const id of eventIds) this.map.delete(id);
  }
}
