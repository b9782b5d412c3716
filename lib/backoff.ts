// Exponential backoff with jitter ("equal jitter"): attempt n waits between
// half and all of min(max, base * 2^n). The jitter spreads a crowd that lost
// its server at the same instant (every client of a killed gateway) so that
// it does not come back as one storm; the floor keeps a retry from firing at
// once.

/** Delay before attempt `attempt` (0-based), in ms; `random` in [0, 1). */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + random() * (ceiling / 2);
}
