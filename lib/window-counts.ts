// Counts per key over a fixed window that opens at the key's first counted
// event (an hour for the registration and group limits): `take` says whether
// n more events fit under a maximum, and counts them when they do. Bounded:
// at most `keysMax` keys are held; past it the key least recently opened is
// forgotten (so a flood of distinct keys costs memory up to the bound, never
// more, and a forgotten key starts afresh: the bound must stay well above the
// keys active in one window).
//
// A window that opens at the first event can let through up to 2 x max in a
// span of one window straddling two windows; fine for abuse limits.

interface Window {
  openedAtMs: number;
  count: number;
}

export class WindowCounts {
  private readonly windows = new Map<string | number, Window>();

  constructor(
    private readonly windowMs: number,
    private readonly keysMax: number,
  ) {
    if (!(windowMs > 0) || !(keysMax > 0)) throw new Error('WindowCounts: windowMs and keysMax must be positive');
  }

  /** Whether `n` more events of `key` fit under `max` in its current window; counted only when they do. */
  take(key: string | number, n: number, max: number, nowMs: number): boolean {
    let w = this.windows.get(key);
    if (!w || nowMs - w.openedAtMs >= this.windowMs) {
      if (w) this.windows.delete(key);
      w = { openedAtMs: nowMs, count: 0 };
      this.windows.set(key, w);
      this.evict();
    }
    if (w.count + n > max) return false;
    w.count += n;
    return true;
  }

  /** Events counted for `key` in its current window (0 when none or expired). */
  count(key: string | number, nowMs: number): number {
    const w = this.windows.get(key);
    return w && nowMs - w.openedAtMs < this.windowMs ? w.count : 0;
  }

  get size(): number {
    return this.windows.size;
  }

  private evict(): void {
    // Map iteration is insertion order: the first key is the one opened longest ago.
    while (this.windows.size > this.keysMax) this.windows.delete(this.windows.keys().next().value!);
  }
}
