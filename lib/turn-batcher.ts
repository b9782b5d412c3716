// A queue flushed once per event-loop turn: everything pushed during a turn is
// handed to `flush` together, on the next setImmediate. This is how the hot
// path turns N small writes into one (one gRPC stream message per turn, one
// WebSocket message per socket per turn): the measured difference between
// ~85k and ~250k msgs/s on a bare uWS relay (../shared BRIEF: "coalesced per
// socket per loop turn").
//
// Cost per push: one array push; per turn: one setImmediate and one call.
// `schedule` may be process.nextTick instead (the load generator's WebSocket
// client: frames queued while handling one TCP chunk leave in one write, before
// the next I/O callback, with no added latency).
// The array handed to `flush` is the batcher's own and is replaced, not
// cleared, so `flush` may keep it.

export class TurnBatcher<T> {
  private items: T[] = [];
  private scheduled = false;
  private readonly run = (): void => {
    this.scheduled = false;
    const items = this.items;
    if (items.length === 0) return;
    this.items = [];
    this.flush(items);
  };

  constructor(
    private readonly flush: (items: T[]) => void,
    private readonly schedule: (run: () => void) => void = setImmediate,
  ) {}

  push(item: T): void {
    this.items.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(this.run);
    }
  }

  /** Items waiting for this turn's flush. */
  get size(): number {
    return this.items.length;
  }

  /** Drop what is queued (the link it was for went down). */
  clear(): void {
    this.items = [];
  }
}

/**
 * Split `items` into chunks of at most `max` (the first chunk is `items` itself
 * when it fits: no copy on the common path).
 */
export function chunksOf<T>(items: T[], max: number): T[][] {
  if (items.length <= max) return [items];
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += max) out.push(items.slice(i, i + max));
  return out;
}
