// A worker thread's world: its slice of users, their connections, who is
// online, the sender -> recipient streams and everything that comes back on
// the connections (deliveries, sent acks, rejections, receipts, drains).
// Workloads (loadgen/workloads/) act on it through its methods and its
// parts' methods; executors only decide when.
//
// The parts, one job each: contacts (1:1 topology), groups (group chats and
// their members), integrity (numbering and classifying messages per stream),
// connections (one per user, online set, heartbeats, event routing), send
// pool (sends in flight and their timeouts), receipts (sender side), read
// wheel (recipient side), reconnects (drops, the offline queue, drains). This
// file wires them: a send, and what each connection event means for them.
//
// Envelope, per 1:1 message on the steady path (real system):
//   sender:    1 contact pick (xorshift), 1 pending slot (pooled object), 1 header write,
//              1 frame encode (~40 + body bytes), 1 batch copy per turn
//   sent ack:  1 slot lookup, 1 HDR record, 1 push on the chat's receipt queue
//   delivery:  1 header read, 1 tracker update (typed arrays), 1 HDR record
//   receipt:   pops of the chat's receipt queue, 1 HDR record per covered message
// All of it on one thread, so one clock (performance.now()) stamps both ends.
import { performance } from 'node:perf_hooks';
import type { RunPlan } from '../model/plan';
import type { Segment } from '../model/segments';
import type { MetricsRegistry } from '../metrics/registry';
import type { LoadDriver } from '../drivers/connection';
import type { Vu } from '../executors/executor';
import { intSampler, Rng, type Sampler } from '../model/distribution';
import { HEADER_FLAG_GROUP, readHeader, type PayloadHeader } from '../model/payload';
import { Connections, type UserEvents } from './connections';
import { Contacts } from './contacts';
import { GROUP_POSITIONS_MAX, GroupTable } from './groups';
import { Integrity } from './integrity';
import type { OnlineSet } from './online-set';
import { ReadWheel } from './read-wheel';
import { Receipts } from './receipts';
import { Reconnects } from './reconnects';
import { SendPool, type PendingSend } from './send-pool';
import { Arrival } from './stream-tracker';

/** Writes the message header into a body (the workload's, stamped with its iteration's scheduled time). */
export type HeaderWriter = (buf: Buffer, stream: number, num: number, slot: number) => void;

export class World implements UserEvents {
  readonly n: number;
  readonly contacts: Contacts;
  /** Group chats among this world's users (none unless the traffic model has groupsPerUser > 0). */
  readonly groups: GroupTable;
  readonly integrity: Integrity;
  readonly connections: Connections;
  readonly online: OnlineSet;
  readonly reconnects: Reconnects;
  readonly rng: Rng;
  private readonly messageBytes: Sampler;
  private readonly sends: SendPool;
  private readonly receipts: Receipts;
  private readonly reads: ReadWheel;
  private readonly header: PayloadHeader = { scheduledMs: 0, stream: 0, number: 0, slot: 0, scenario: 0, flags: 0 };

  constructor(
    readonly segment: Segment,
    readonly plan: RunPlan,
    readonly driver: LoadDriver,
    readonly metrics: MetricsRegistry,
    localAddresses: string[],
  ) {
    const t = plan.traffic;
    this.n = segment.users;
    this.contacts = new Contacts(this.n, t.contactsPerUser);
    this.rng = new Rng(0x5eed + segment.index * 7919);
    this.groups = new GroupTable(this.n, t, new Rng(0x6709 + segment.index * 7919), this.contacts.streams);
    this.integrity = new Integrity(this.contacts, this.groups, segment.userFirst);
    this.messageBytes = intSampler(t.messageBytes);
    this.connections = new Connections(this.n, segment.userFirst, driver, localAddresses, this);
    this.online = this.connections.online;
    this.reconnects = new Reconnects(this.n, t.onlineShare, t.reconnect.dropShare, this.connections, metrics);
    this.sends = new SendPool(this.n);
    this.receipts = new Receipts(this.n, t.readReceipts.probability > 0, metrics);
    this.reads = new ReadWheel(t.readReceipts.probability, intSampler(t.readReceipts.delayMs), this.connections);
  }

  now(): number {
    return performance.now();
  }

  /** A message size drawn from the traffic model. */
  nextMessageBytes(): number {
    return this.messageBytes(this.rng);
  }

  // ---------------------------------------------------------------- sends

  /** Send one message from `sender` to its contact `j`; the iteration ends at the sent ack (system) or the delivery (bare). */
  send(vu: Vu, sender: number, j: number, scenario: number, body: Buffer, writeHeader: HeaderWriter): void {
    const stream = this.contacts.streamOf(sender, j);
    const now = this.now();
    const num = this.integrity.numberDirect(stream, now);
    const p = this.sends.take(vu, sender, stream, num, scenario, -1, now);
    writeHeader(body, stream, num, p.index);
    const to = this.contacts.recipientOf(stream);
    const conns = this.connections;
    conns.connection(sender)!.sendMessage(conns.globalIndex(to), body, p.index + 1, `${j.toString(36)}.${num.toString(36)}`);
    conns.touch(sender, now);
    const m = this.metrics;
    m.counter.messages_sent.add(1, scenario);
    m.counter.data_sent.add(body.length, scenario);
  }

  /** Send one message from position `pos` of group g to the group; the iteration ends at the sent ack. */
  sendGroup(vu: Vu, g: number, pos: number, scenario: number, body: Buffer, writeHeader: HeaderWriter): void {
    const groups = this.groups;
    const sender = groups.member(g, pos);
    const stream = g * GROUP_POSITIONS_MAX + pos;
    const num = this.integrity.numberGroup(g, pos);
    const now = this.now();
    const p = this.sends.take(vu, sender, stream, num, scenario, g, now);
    writeHeader(body, stream, num, p.index);
    body[21] = HEADER_FLAG_GROUP;
    this.connections.connection(sender)!.sendGroupMessage(groups.chatIds[g]!, body, p.index + 1, `g${g.toString(36)}.${pos.toString(36)}.${num.toString(36)}`);
    this.connections.touch(sender, now);
    const m = this.metrics;
    m.counter.messages_sent.add(1, scenario);
    m.counter.group_messages_sent.add(1, scenario);
    m.counter.data_sent.add(body.length, scenario);
  }

  /** The next group send (group, sender position) with an online sender, or null. */
  nextGroupSend(): { group: number; pos: number } | null {
    return this.groups.nextSend(this.connections.isOnline);
  }

  /**
   * Sends of user u still waiting for their ack when its connection goes: the
   * target may or may not have them (a real client would retry them). Not
   * expected any more, counted as messages_unacknowledged. Bare targets have
   * no acks: there an unanswered send simply is lost.
   */
  private abandonPending(u: number): void {
    if (!this.driver.acks || !this.sends.hasInFlight(u)) return;
    this.sends.forEachOf(u, this.abandonOne);
  }

  private readonly abandonOne = (p: PendingSend): void => {
    this.integrity.abandon(p.stream, p.number, p.group);
    this.metrics.counter.messages_unacknowledged.add(1, p.scenario);
    this.sends.release(p, false);
  };

  private readonly expired = (p: PendingSend): void => {
    this.metrics.counter.iteration_timeouts.add(1, p.scenario);
    if (this.driver.acks) this.abandonOne(p);
    else this.sends.release(p, false);
  };

  // ---------------------------------------------------------------- users leaving

  /** Close user u's connection on purpose. */
  disconnect(u: number): void {
    this.abandonPending(u);
    if (this.connections.close(u)) this.reconnects.dropped(u, this.now());
  }

  closeAll(): void {
    this.connections.beginClosing();
    for (let u = 0; u < this.n; u++) if (this.connections.connection(u)) this.disconnect(u);
  }

  // ---------------------------------------------------------------- events from connections

  onDeliver(r: number, body: Uint8Array, replay: boolean, chatId: string, id: number): void {
    const h = this.header;
    const m = this.metrics;
    if (!readHeader(body, h)) {
      m.counter.errors.add(1);
      return;
    }
    const arrival = this.integrity.arrive(r, h);
    if (arrival === Arrival.Unknown) {
      m.counter.errors.add(1);
      return;
    }
    if (arrival === Arrival.Duplicate) {
      if (replay) m.counter.delivery_redelivered.add(1, h.scenario);
      else m.counter.delivery_duplicated.add(1, h.scenario);
      return;
    }
    const now = this.now();
    m.counter.messages_delivered.add(1, h.scenario);
    m.rate.delivery_success.add(true, h.scenario);
    if (arrival === Arrival.OutOfOrder) m.counter.delivery_out_of_order.add(1, h.scenario);
    if (!replay) m.trend.delivery_latency.record(now - h.scheduledMs, h.scenario);
    else {
      const back = this.reconnects.startedAt(r);
      if (back > 0) m.trend.offline_delivery_latency.record(now - back, h.scenario);
    }
    if (!this.driver.acks) {
      // Bare targets have no acks: the iteration ends when its message arrives.
      const p = this.sends.ofHeader(h.slot, h.stream, h.number);
      if (p) this.sends.release(p, true);
    }
    this.reads.maybeRead(r, chatId, id, now, this.rng);
  }

  onSent(sender: number, ref: number, id: number, chatId: string): void {
    const p = this.sends.ofRef(ref, sender);
    if (!p) return; // timed out already
    const now = this.now();
    const m = this.metrics;
    m.trend.sent_ack_latency.record(now - p.scheduledMs, p.scenario);
    m.rate.send_success.add(true, p.scenario);
    this.receipts.acknowledged(sender, chatId, id, p.scheduledMs);
    this.sends.release(p, true);
  }

  onRejected(sender: number, ref: number, _code: string): void {
    const m = this.metrics;
    m.counter.errors.add(1);
    const p = this.sends.ofRef(ref, sender);
    if (!p) return;
    this.integrity.reject(p.stream, p.number, p.group);
    m.counter.messages_rejected.add(1, p.scenario);
    m.rate.send_success.add(false, p.scenario);
    this.sends.release(p, false);
  }

  onError(_u: number, _code: string): void {
    this.metrics.counter.errors.add(1);
  }

  onReceipt(sender: number, chatId: string, kind: number, upTo: number): void {
    this.receipts.receipt(sender, chatId, kind, upTo, this.now());
  }

  onDrainDone(u: number, messages: number): void {
    const now = this.now();
    const waiting = this.reconnects.drained(u, now);
    if (!waiting) return;
    const m = this.metrics;
    m.trend.drain_time.record(now - this.reconnects.startedAt(u));
    m.counter.messages_drained.add(messages);
    m.counter.users_reconnected.add(1);
    m.rate.reconnect_success.add(true);
    waiting.vu.executor.iterationDone(waiting.vu, waiting.gen, true);
  }

  onClose(u: number): void {
    if (this.connections.closing) return;
    this.metrics.counter.disconnects_unexpected.add(1);
    this.abandonPending(u);
    this.connections.lost(u);
    const waiting = this.reconnects.cancelDrain(u);
    if (waiting) {
      this.metrics.rate.reconnect_success.add(false);
      waiting.vu.executor.iterationDone(waiting.vu, waiting.gen, false);
    }
    this.reconnects.reconnectLater(u);
  }

  // ---------------------------------------------------------------- periodic work and the end

  /** Timeouts, read acks, heartbeats. Called by the scheduler every tick. */
  tick(now: number): void {
    this.sends.expire(now, this.plan.iterationTimeoutMs, this.expired);
    this.reads.flush(now);
    this.connections.heartbeats(now);
  }

  /** Messages accepted but not yet delivered, split by whether the recipient is online now. */
  outstanding(): { online: number; offline: number } {
    return this.integrity.outstanding(this.connections.isOnline);
  }

  /** Describe up to `max` lost messages (recipient online, message never arrived), for the log. */
  describeLost(t0: number, max = 5): string[] {
    return this.integrity.describeLost(t0, this.connections.isOnline, this.reconnects, max);
  }

  /** End of run: what never arrived is lost (recipient online) or queued (recipient offline). */
  countMissing(): void {
    this.integrity.countMissing(this.metrics, this.connections.isOnline);
  }
}
