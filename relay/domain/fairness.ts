/** How delivery work is shared: round-robin across accounts and subscriptions, each within its share. */

/**
 * Picks up to `limit` ids, round-robin: turn 1 is every account's first pick, turn 2 its
 * second …; an account's picks alternate between its subscriptions (each oldest first, as the
 * candidates come); an account gets at most `allowance(account)`.
 */
export function roundRobin(candidates: Array<{ id: string; account_id: string; hook_id: string }>, limit: number, allowance: (account: string) => number): string[] {
  const byAccount = new Map<string, Map<string, string[]>>();
  for (const c of candidates) {
    const hooks = byAccount.get(c.account_id) ?? new Map<string, string[]>();
    byAccount.set(c.account_id, hooks);
    const list = hooks.get(c.hook_id) ?? [];
    hooks.set(c.hook_id, list);
    list.push(c.id);
  }
  // Each account's own order: its subscriptions' oldest, then their second oldest, …
  const queues = [...byAccount].map(([account, hooks]) => {
    const lists = [...hooks.values()];
    const order: string[] = [];
    for (let i = 0; order.length < candidates.length && lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length) order.push(l[i]);
    return order.slice(0, Math.max(0, allowance(account)));
  });
  const picked: string[] = [];
  for (let turn = 0; picked.length < limit && queues.some((qu) => turn < qu.length); turn++) {
    for (const qu of queues) if (turn < qu.length && picked.length < limit) picked.push(qu[turn]);
  }
  return picked;
}

/**
 * The accounts that had due work left behind only because they hold their share already (the
 * deliverer looks again once one of them holds less).
 */
export function cappedAccounts(candidates: Array<{ id: string; account_id: string }>, picked: string[], allowance: (account: string) => number): Set<string> {
  const chosen = new Set(picked);
  const left = new Map<string, number>();
  const took = new Map<string, number>();
  for (const c of candidates) {
    const m = chosen.has(c.id) ? took : left;
    m.set(c.account_id, (m.get(c.account_id) ?? 0) + 1);
  }
  const capped = new Set<string>();
  for (const [account] of left) if ((took.get(account) ?? 0) >= allowance(account)) capped.add(account);
  return capped;
}

/**
 * Room a deliverer has for fresh deliveries, reserved before a fan-out: `total` places, an
 * account at most `perAccount` of them (less what it holds already, `held`). The fan-out
 * spends it as it leases rows at insert; what it did not spend goes back to the deliverer.
 */
export interface Room {
  total: number;
  readonly perAccount: number;
  readonly held: ReadonlyMap<string, number>;
  /** Spent so far, per account. */
  readonly spent: Map<string, number>;
}

export const emptyRoom = (total: number, perAccount: number, held: ReadonlyMap<string, number>): Room => ({ total, perAccount, held, spent: new Map() });

/** Spends one place of `room` on a delivery of `account`; false when there is none for it. */
export function spendRoom(room: Room, account: string): boolean {
  if (room.total <= 0) return false;
  const spent = room.spent.get(account) ?? 0;
  if ((room.held.get(account) ?? 0) + spent >= room.perAccount) return false;
  room.total--;
  room.spent.set(account, spent + 1);
  return true;
}
