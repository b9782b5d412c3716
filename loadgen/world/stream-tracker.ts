// Integrity per stream (one sender -> one recipient): every message carries
// its number in the stream, 1, 2, 3, ... The recipient side classifies each
// arrival as new, new but out of order (a later number already arrived), or a
// duplicate; rejected sends are skipped so they are never counted missing.
// Sends the target never acknowledged (the sender's connection closed first,
// or the ack did not come in time) are "abandoned": not expected, but
// counted as delivered if they arrive after all; a real client would retry
// them. At the end, missing = sent - rejected - delivered - abandoned, per
// stream, so loss is attributed to recipients (lost if the recipient is
// online, queued if not).
//
// Memory: 6 x 4 bytes per stream, plus a Set of numbers that arrived above a
// gap. A gap that never closes (a lost message) would grow that Set with
// every later message, so past ABOVE_MAX the lowest gap is given up on: the
// prefix jumps over it (if the message still arrives, it counts as a duplicate).

export const ABOVE_MAX = 4096;

export const enum Arrival {
  InOrder = 0,
  OutOfOrder = 1,
  Duplicate = 2,
  /** A number never sent on this stream (garbage or misrouted). */
  Unknown = 3,
}

export class StreamTracker {
  readonly next: Uint32Array;
  readonly prefix: Uint32Array;
  readonly max: Uint32Array;
  readonly sent: Uint32Array;
  readonly rejected: Uint32Array;
  readonly delivered: Uint32Array;
  private readonly above = new Map<number, Set<number>>();
  /** stream -> numbers abandoned and not (yet) delivered. Small: only sends in flight when a sender closed. */
  private readonly abandonedSet = new Map<number, Set<number>>();
  abandonedCount = 0;
  gaveUp = 0;

  constructor(readonly streams: number) {
    this.next = new Uint32Array(streams);
    this.prefix = new Uint32Array(streams);
    this.max = new Uint32Array(streams);
    this.sent = new Uint32Array(streams);
    this.rejected = new Uint32Array(streams);
    this.delivered = new Uint32Array(streams);
  }

  /** Sender side: the number of a new message on `stream`. */
  assign(stream: number): number {
    this.sent[stream]!++;
    return ++this.next[stream]!;
  }

  /** Recipient side: classify an arrival and count it. */
  deliver(stream: number, num: number): Arrival {
    if (stream >= this.streams || num === 0 || num > this.next[stream]!) return Arrival.Unknown;
    if (this.abandonedCount > 0) this.unabandon(stream, num);
    if (!this.mark(stream, num)) return Arrival.Duplicate;
    this.delivered[stream]!++;
    if (num < this.max[stream]!) return Arrival.OutOfOrder;
    this.max[stream] = num;
    return Arrival.InOrder;
  }

  /** The target refused this message: it will never arrive and is not missing. */
  skip(stream: number, num: number): void {
    if (stream >= this.streams || num === 0 || num > this.next[stream]!) return;
    if (this.mark(stream, num)) this.rejected[stream]!++;
  }

  /** The numbers of `stream` not (yet) seen, at most `max` of them (diagnostics). */
  missingNumbers(stream: number, max = 10): number[] {
    const out: number[] = [];
    const set = this.above.get(stream);
    for (let n = this.prefix[stream]! + 1; n <= this.next[stream]! && out.length < max; n++) if (!set?.has(n)) out.push(n);
    return out;
  }

  /** The target never acknowledged this send: do not expect it (count it delivered if it comes). */
  abandon(stream: number, num: number): void {
    let set = this.abandonedSet.get(stream);
    if (!set) this.abandonedSet.set(stream, (set = new Set()));
    if (!set.has(num)) {
      set.add(num);
      this.abandonedCount++;
    }
  }

  private unabandon(stream: number, num: number): void {
    const set = this.abandonedSet.get(stream);
    if (set?.delete(num)) {
      this.abandonedCount--;
      if (set.size === 0) this.abandonedSet.delete(stream);
    }
  }

  missing(stream: number): number {
    return this.sent[stream]! - this.rejected[stream]! - this.delivered[stream]! - (this.abandonedSet.get(stream)?.size ?? 0);
  }

  /** Record `num` as seen; false if it already was. */
  private mark(stream: number, num: number): boolean {
    const prefix = this.prefix[stream]!;
    if (num <= prefix) return false;
    let set = this.above.get(stream);
    if (num === prefix + 1) {
      let p = num;
      if (set) {
        while (set.delete(p + 1)) p++;
        if (set.size === 0) this.above.delete(stream);
      }
      this.prefix[stream] = p;
      return true;
    }
    if (set?.has(num)) return false;
    if (!set) this.above.set(stream, (set = new Set()));
    set.add(num);
    if (set.size > ABOVE_MAX) this.giveUpLowestGap(stream, set);
    return true;
  }

  private giveUpLowestGap(stream: number, set: Set<number>): void {
    let lowest = Infinity;
    for (const v of set) if (v < lowest) lowest = v;
    this.gaveUp++;
    let p = lowest;
    set.delete(p);
    while (set.delete(p + 1)) p++;
    this.prefix[stream] = p;
    if (set.size === 0) this.above.delete(stream);
  }
}
