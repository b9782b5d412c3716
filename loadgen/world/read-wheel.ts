// The recipient side of read receipts: a delivered message is marked read
// with the traffic model's probability, after its delay. Reads fall due in
// 10 ms buckets and leave coalesced per (user, chat): a read watermark covers
// everything below it, so a burst of reads due together costs one markRead.
import type { Rng, Sampler } from '../model/distribution';
import type { Connections } from './connections';

/** Read acks are scheduled in buckets of this many ms. */
const READ_BUCKET_MS = 10;

interface DueRead {
  user: number;
  chat: string;
  id: number;
}

export class ReadWheel {
  private readonly wheel = new Map<number, DueRead[]>();
  private nextBucket = 0;

  constructor(private readonly probability: number, private readonly delay: Sampler, private readonly connections: Connections) {}

  /** Message `id` of `chat` reached `user` at `now`: maybe mark it read later (id 0: a bare target, nothing to mark). */
  maybeRead(user: number, chat: string, id: number, now: number, rng: Rng): void {
    if (this.probability > 0 && id > 0 && rng.next() < this.probability) this.schedule(user, chat, id, now + this.delay(rng));
  }

  private schedule(user: number, chat: string, id: number, dueMs: number): void {
    const bucket = Math.ceil(dueMs / READ_BUCKET_MS);
    let list = this.wheel.get(bucket);
    if (!list) this.wheel.set(bucket, (list = []));
    list.push({ user, chat, id });
    if (this.nextBucket === 0 || bucket < this.nextBucket) this.nextBucket = bucket;
  }

  /** No read is waiting to be sent. */
  get empty(): boolean {
    return this.wheel.size === 0;
  }

  /** Send the reads due by `now`, one per (user, chat), on connections still open. */
  flush(now: number): void {
    if (this.wheel.size === 0) return;
    const upTo = Math.floor(now / READ_BUCKET_MS);
    if (this.nextBucket > upTo) return;
    // Coalesce per (user, chat): a read watermark covers everything below it.
    const latest = new Map<string, DueRead>();
    let nextBucket = 0;
    for (const [bucket, list] of this.wheel) {
      if (bucket > upTo) {
        if (nextBucket === 0 || bucket < nextBucket) nextBucket = bucket;
        continue;
      }
      this.wheel.delete(bucket);
      for (const r of list) {
        const key = `${r.user}/${r.chat}`;
        const prev = latest.get(key);
        if (!prev || prev.id < r.id) latest.set(key, r);
      }
    }
    this.nextBucket = nextBucket;
    for (const r of latest.values()) {
      const c = this.connections.connection(r.user);
      if (c) c.markRead(r.chat, r.id);
    }
  }
}
