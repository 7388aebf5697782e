/** The closest of known names to what someone typed, for a "did you mean" in an error. */

/** Edit distance (insertions, deletions, substitutions), case-insensitive. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length];
}

/**
 * The known name nearest to `typed`, when it is near enough to be a slip (at most a third of
 * its length apart, and 4 edits at most), else null. Only short input is compared: a typo is
 * short, and the table of names is small.
 */
export function closest(typed: string, known: readonly string[]): string | null {
  if (typed.length === 0 || typed.length > 200) return null;
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(typed, k);
    if (d < bestD) (best = k), (bestD = d);
  }
  return best !== null && bestD > 0 && bestD <= Math.min(4, Math.ceil(best.length / 3)) ? best : null;
}
