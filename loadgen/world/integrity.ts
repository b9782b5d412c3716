// The integrity of a world's messages: which tracker streams a send and an
// arrival belong to, and at the end what is missing and where. A 1:1 chat is
// one stream (./contacts.ts); a group message is numbered in its sender's wire
// stream (group * 256 + position) and expected on one stream per other member
// (./groups.ts). The per-stream bookkeeping (numbers, gaps, duplicates,
// abandoned sends) is ./stream-tracker.ts.
import type { MetricsRegistry } from '../metrics/registry';
import { HEADER_FLAG_GROUP, type PayloadHeader } from '../model/payload';
import type { Contacts } from './contacts';
import { GROUP_POSITIONS_MAX, type GroupTable } from './groups';
import type { Reconnects } from './reconnects';
import { Arrival, StreamTracker } from './stream-tracker';

export class Integrity {
  readonly tracker: StreamTracker;
  /** Messages numbered per group sender stream (group * 256 + position). */
  private readonly groupNext: Uint32Array;
  /** LG_DEBUG_LOST=1: remember when each message was sent (stream * 2^24 + number -> ms), to describe losses. */
  private readonly debugSent: Map<number, number> | null = process.env.LG_DEBUG_LOST === '1' ? new Map() : null;

  /** @param userFirst global index of local user 0 (loss descriptions name global users) */
  constructor(private readonly contacts: Contacts, private readonly groups: GroupTable, private readonly userFirst: number) {
    this.groupNext = new Uint32Array(groups.count * GROUP_POSITIONS_MAX);
    this.tracker = new StreamTracker(contacts.streams + groups.recvStreams);
  }

  /** Sender side of a 1:1 message sent at `now`: its number in the stream. */
  numberDirect(stream: number, now: number): number {
    const num = this.tracker.assign(stream);
    this.debugSent?.set(stream * 2 ** 24 + num, now);
    return num;
  }

  /** Sender side of a group message from position `pos` of group g: its number; every other member expects it next. */
  numberGroup(g: number, pos: number): number {
    const num = ++this.groupNext[g * GROUP_POSITIONS_MAX + pos]!;
    const s = this.groups.size[g]!;
    for (let k = 0; k < s; k++) if (k !== pos) this.tracker.assign(this.groups.recvStream(g, pos, k));
    return num;
  }

  /** Recipient side: classify a message that reached local user r (Unknown: not ours, misrouted, or r is no member). */
  arrive(r: number, h: PayloadHeader): Arrival {
    let stream: number;
    if (h.flags === HEADER_FLAG_GROUP) {
      stream = this.groups.recvStreamAt(h.stream, r);
      if (stream < 0) return Arrival.Unknown;
    } else {
      stream = h.stream;
      if (stream >= this.contacts.streams || this.contacts.recipientOf(stream) !== r) return Arrival.Unknown;
    }
    return this.tracker.deliver(stream, h.number);
  }

  /** The target refused this send (group: the group sent to, else -1): no recipient misses it. */
  reject(stream: number, num: number, group: number): void {
    this.settle(stream, num, group, true);
  }

  /** The target never acknowledged this send: no recipient expects it (it counts as delivered if it comes). */
  abandon(stream: number, num: number, group: number): void {
    this.settle(stream, num, group, false);
  }

  private settle(stream: number, num: number, group: number, refused: boolean): void {
    if (group < 0) return this.settleOne(stream, num, refused);
    const pos = stream - group * GROUP_POSITIONS_MAX;
    const s = this.groups.size[group]!;
    for (let k = 0; k < s; k++) if (k !== pos) this.settleOne(this.groups.recvStream(group, pos, k), num, refused);
  }

  private settleOne(stream: number, num: number, refused: boolean): void {
    if (refused) this.tracker.skip(stream, num);
    else this.tracker.abandon(stream, num);
  }

  /** The local recipient of a tracker stream: a 1:1 stream (sender * contacts + j) or a group (sender, recipient) stream. */
  recipientOf(stream: number): number {
    if (stream >= this.groups.streamBase) return this.groups.recipientOfRecv(stream);
    return this.contacts.recipientOf(stream);
  }

  /** Gaps given up on (a stream's set of numbers above a gap grew past its bound). */
  get gaveUpGaps(): number {
    return this.tracker.gaveUp;
  }

  /** Messages accepted but not yet delivered, split by whether the recipient is online now. */
  outstanding(isOnline: (u: number) => boolean): { online: number; offline: number } {
    let online = 0;
    let offline = 0;
    const streams = this.tracker.streams;
    for (let s = 0; s < streams; s++) {
      const missing = this.tracker.missing(s);
      if (missing <= 0) continue;
      if (isOnline(this.recipientOf(s))) online += missing;
      else offline += missing;
    }
    return { online, offline };
  }

  /** End of run: what never arrived is lost (recipient online) or queued (recipient offline). */
  countMissing(metrics: MetricsRegistry, isOnline: (u: number) => boolean): void {
    const { online, offline } = this.outstanding(isOnline);
    if (online > 0) {
      metrics.counter.delivery_lost.add(online);
      metrics.rate.delivery_success.add(false, -1, online);
    }
    if (offline > 0) metrics.counter.delivery_queued_offline.add(offline);
  }

  /** Describe up to `max` lost messages (recipient online, message never arrived), for the log. */
  describeLost(t0: number, isOnline: (u: number) => boolean, reconnects: Reconnects, max = 5): string[] {
    const out: string[] = [];
    const t = this.tracker;
    const at = (ms: number) => ((ms - t0) / 1000).toFixed(3);
    for (let s = 0; s < t.streams && out.length < max; s++) {
      if (t.missing(s) <= 0) continue;
      const r = this.recipientOf(s);
      if (!isOnline(r)) continue;
      const group = s >= this.groups.streamBase ? this.groups.senderOfRecv(s) : null;
      const sender = group ? group.sender : this.contacts.senderOf(s);
      const sentAt = this.debugSent?.get(s * 2 ** 24 + t.missingNumbers(s, 1)[0]!);
      const back = reconnects.startedAt(r);
      const dropped = reconnects.droppedAt(r);
      out.push(`user ${this.userFirst + sender} -> ${group ? `group ${group.group} -> ` : ''}${this.userFirst + r}: message #${t.missingNumbers(s, 3).join(', #')} of ${t.next[s]}` +
        (sentAt !== undefined ? ` sent at ${at(sentAt)}s` : '') +
        (back > 0 ? `; recipient reconnected at ${at(back)}s` : '') +
        (dropped > 0 ? `, dropped at ${at(dropped)}s` : ''));
    }
    return out;
  }
}
