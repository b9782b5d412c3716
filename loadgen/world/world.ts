// A worker thread's world: its slice of users, their connections, who is
// online, the sender -> recipient streams and everything that comes back on
// the connections (deliveries, sent acks, rejections, receipts, drains).
// Workloads (loadgen/workloads/) act on it through its methods and its
// parts' methods; executors only decide when.
//
// The parts, one job each: contacts (1:1 topology), groups (group chats and
// their members), integrity (numbering and classifying messages per stream),
// connections (one per user, online set, event routing), send
// pool (sends waiting for their outcome, and their timeouts), outbox (sends
// waiting for their sender's connection), send outcomes (the accounting of
// every scheduled send), receipts (sender side), read wheel (recipient side),
// reconnects (drops, the offline queue, drains, reconnecting with backoff).
// This file wires them: a send, and what each connection event means for them.
//
// Through failures the simulated client behaves like an app: a send made
// while its sender's connection is down waits in the sender's outbox; sends
// on the wire when the connection drops go again after the reconnect with the
// same client_msg_id; UNAVAILABLE is retried with backoff, a bounded number
// of times. Latency still counts from the scheduled time.
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
import { HEADER_FLAG_GROUP, HEADER_FLAG_MEDIA, PAYLOAD_HEADER_BYTES, readHeader, writeHeader, type PayloadHeader } from '../model/payload';
import { ErrorCode } from '../../server/common/errors';
import { backoffMs } from '../../lib/backoff';
import { Connections, type UserEvents } from './connections';
import { Contacts } from './contacts';
import { GROUP_POSITIONS_MAX, GroupTable } from './groups';
import { Integrity } from './integrity';
import { MediaSends } from './media-sends';
import type { OnlineSet } from './online-set';
import { ReadWheel } from './read-wheel';
import { Receipts } from './receipts';
import { Reconnects } from './reconnects';
import { Outbox } from './outbox';
import { SendFailure, SendOutcomes } from './send-outcomes';
import { SendPool, type PendingSend } from './send-pool';
import { Arrival } from './stream-tracker';

/**
 * A retryable error (UNAVAILABLE: the chat's partition is moving, or the gateway lost the chat service) is
 * retried this often at most per send ...
 */
const ERROR_RETRIES_MAX = 12;
/** ... after backoffMs(n, base, max): 25-50 ms, 50-100 ms, ... up to 0.5-1 s (4-8.5 s in all; iterationTimeout bounds it too). */
const ERROR_RETRY_BACKOFF_MS_BASE = 50;
const ERROR_RETRY_BACKOFF_MS_MAX = 1000;

/** One reusable zero-padded body per size: a transmission writes the header into it and the connection copies it into the frame. */
class BodyBuffers {
  private readonly bySize = new Map<number, Buffer>();
  of(bytes: number): Buffer {
    let b = this.bySize.get(bytes);
    if (!b) this.bySize.set(bytes, (b = Buffer.alloc(bytes)));
    return b;
  }
}

export class World implements UserEvents {
  readonly n: number;
  readonly contacts: Contacts;
  /** Group chats among this world's users (none unless the traffic model has groupsPerUser > 0). */
  readonly groups: GroupTable;
  readonly integrity: Integrity;
  readonly connections: Connections;
  readonly online: OnlineSet;
  /** Users online or reconnecting by themselves: the senders (a disconnected one's sends wait in its outbox). */
  readonly active: OnlineSet;
  readonly reconnects: Reconnects;
  /** Every scheduled send's outcome (workloads count what they schedule and drop). */
  readonly outcomes: SendOutcomes;
  /** Media messages (traffic.mediaShare > 0, real system only), else null. */
  readonly media: MediaSends | null;
  readonly rng: Rng;
  private readonly messageBytes: Sampler;
  private readonly sends: SendPool;
  private readonly outbox: Outbox<PendingSend>;
  private readonly bodies = new BodyBuffers();
  private readonly receipts: Receipts;
  private readonly reads: ReadWheel;
  /** traffic.e2ee without the warm-up: first messages to a peer are timed apart (e2ee_first_message_latency). */
  private readonly e2ee: boolean;
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
    this.active = this.connections.active;
    this.reconnects = new Reconnects(this.n, t.onlineShare, t.reconnect.dropShare, this.connections, metrics, (u) => this.gaveUp(u));
    this.sends = new SendPool(this.n);
    this.outbox = new Outbox(this.n);
    this.outcomes = new SendOutcomes(metrics);
    this.receipts = new Receipts(this.n, t.readReceipts.probability > 0, metrics);
    this.reads = new ReadWheel(t.readReceipts.probability, intSampler(t.readReceipts.delayMs), this.connections);
    // With the warm-up (traffic.e2eeWarmup, default on) number 1 of a stream rides an established session: not a first message.
    this.e2ee = t.e2ee === true && t.e2eeWarmup === false;
    if (t.e2ee && driver.name !== 'system') throw new Error('traffic.e2ee needs the real system: a bare target has no key directory');
    if (t.mediaShare > 0 && !driver.media) throw new Error('traffic.mediaShare > 0 needs the real system: this target has no media endpoint');
    this.media = t.mediaShare > 0 ? new MediaSends(driver.media!, metrics, intSampler(t.mediaBytes ?? 65_536), plan.iterationTimeoutMs, () => this.now()) : null;
  }

  now(): number {
    return performance.now();
  }

  /** A message size drawn from the traffic model (at least the header). */
  nextMessageBytes(): number {
    return Math.max(PAYLOAD_HEADER_BYTES, this.messageBytes(this.rng));
  }

  // ---------------------------------------------------------------- sends

  /** Send one message from `sender` to its contact `j`; the iteration ends at its outcome (./send-outcomes.ts). */
  send(vu: Vu, sender: number, j: number, scenario: number, bytes: number, mediaBody: Buffer | null = null, media = -1): void {
    const stream = this.contacts.streamOf(sender, j);
    const now = this.now();
    const num = this.integrity.numberDirect(stream, now);
    const p = this.sends.take(vu, sender, stream, num, scenario, -1, j, bytes, now);
    p.media = media;
    p.mediaBody = mediaBody;
    this.dispatch(p, now);
  }

  /** A media message from `sender` to its contact j: upload the file first, then send its reference (./media-sends.ts). */
  sendMedia(vu: Vu, sender: number, j: number, scenario: number): void {
    const to = this.contacts.recipientOf(this.contacts.streamOf(sender, j));
    const gen = vu.gen;
    this.media!.start(vu.scheduledMs, scenario, this.connections.globalIndex(sender), this.connections.globalIndex(to), {
      uploaded: (id, body) => this.send(vu, sender, j, scenario, body.length, body, id),
      failed: (reason) => {
        this.outcomes.failed(scenario, reason);
        vu.executor.iterationDone(vu, gen, false);
      },
    });
  }

  /** Send one message from position `pos` of group g to the group; the iteration ends at its outcome. */
  sendGroup(vu: Vu, g: number, pos: number, scenario: number, bytes: number): void {
    const sender = this.groups.member(g, pos);
    const stream = g * GROUP_POSITIONS_MAX + pos;
    const num = this.integrity.numberGroup(g, pos);
    const now = this.now();
    this.dispatch(this.sends.take(vu, sender, stream, num, scenario, g, pos, bytes, now), now);
  }

  /** The next group send (group, sender position) with an active sender (online or reconnecting), or null. */
  nextGroupSend(): { group: number; pos: number } | null {
    return this.groups.nextSend(this.connections.isActive);
  }

  private readonly globalIndexOf = (u: number): number => this.connections.globalIndex(u);

  /** On the wire now when the sender can send; else into its outbox, behind what waits there already. */
  private dispatch(p: PendingSend, now: number): void {
    const u = p.sender;
    if (this.connections.isOnline(u) && this.outbox.sizeOf(u) === 0 && !this.outbox.isHeld(u, now)) this.transmit(p, now);
    else this.queue(p, false);
  }

  /** Into the sender's outbox; a new send (not `always`) past its bound fails as outbox_full. */
  private queue(p: PendingSend, always: boolean): void {
    if (!this.outbox.push(p.sender, p, always)) return this.failUnanswered(p, SendFailure.OUTBOX_FULL);
    p.queued = true;
    if (!p.outboxed) {
      p.outboxed = true;
      this.outcomes.outboxed(p.scenario);
    }
  }

  /**
   * Write the send on its sender's connection, the body rebuilt from the slot
   * (so a retry carries the same header, slot and client_msg_id as the first
   * transmission, and latency still counts from the scheduled time).
   */
  private transmit(p: PendingSend, now: number): void {
    p.queued = false;
    const conns = this.connections;
    const conn = conns.connection(p.sender)!;
    const body = p.mediaBody ?? this.bodies.of(p.bytes);
    writeHeader(body, p.scheduledMs, p.stream, p.number, p.index, p.scenario);
    if (p.media >= 0) body[21] = HEADER_FLAG_MEDIA;
    if (p.group < 0) {
      const to = conns.globalIndex(this.contacts.recipientOf(p.stream));
      conn.sendMessage(to, body, this.sends.refOf(p), `${p.contact.toString(36)}.${p.number.toString(36)}`);
    } else {
      body[21] = HEADER_FLAG_GROUP;
      const members = this.groups.globalMembers(p.group, this.globalIndexOf);
      conn.sendGroupMessage(this.groups.chatIds[p.group]!, body, this.sends.refOf(p), `g${p.group.toString(36)}.${p.contact.toString(36)}.${p.number.toString(36)}`, members);
    }
    if (p.transmits++ > 0) {
      if (p.transmits === 2) this.outcomes.retried(p.scenario);
      return;
    }
    const m = this.metrics;
    m.counter.messages_sent.add(1, p.scenario);
    if (p.group >= 0) m.counter.group_messages_sent.add(1, p.scenario);
    m.counter.data_sent.add(p.bytes, p.scenario);
  }

  /** User u can send again (online, not held back): its outbox goes out in send order. */
  private flushOutbox(u: number, now: number): void {
    if (!this.connections.isOnline(u) || this.outbox.isHeld(u, now)) return;
    const waiting = this.outbox.takeAll(u);
    for (let i = 0; i < waiting.length; i++) this.transmit(waiting[i]!, now);
  }

  /**
   * User u's connection is gone: its sends on the wire (no answer yet) wait in
   * its outbox to go out again with the same client_msg_id (the server answers
   * a retry of a stored send with the original ack). Bare targets do not
   * de-duplicate: there an unanswered send stays as it is (delivered, or timed out).
   */
  private requeueInFlight(u: number): void {
    if (!this.driver.acks || !this.sends.hasInFlight(u)) return;
    this.sends.forEachOf(u, this.requeueOne);
  }

  private readonly requeueOne = (p: PendingSend): void => {
    if (!p.queued) this.queue(p, true);
  };

  /**
   * A retryable error (UNAVAILABLE) for `p`: the path to the chat service is
   * broken, so `p` and every send of its sender still unanswered go back to the
   * outbox, in send order, and the sender holds for a backoff; then they go
   * again with their client_msg_ids (those the server stored are answered with
   * their original ack). Later errors for sends already back in the outbox are
   * ignored, so per chat order is kept.
   */
  private retryLater(p: PendingSend, now: number): void {
    const delayMs = backoffMs(p.errorRetries++, ERROR_RETRY_BACKOFF_MS_BASE, ERROR_RETRY_BACKOFF_MS_MAX);
    const u = p.sender;
    this.outbox.hold(u, now + delayMs);
    this.sends.forEachOf(u, this.requeueOne);
    this.flushAfterHold(u, delayMs);
  }

  /**
   * Flush u's outbox once its hold is over. A timer can fire a little before
   * performance.now() reaches the hold's end (libuv's loop time lags it), so a
   * timer that finds u still held waits again: an online user's outbox never
   * stays stuck.
   */
  private flushAfterHold(u: number, delayMs: number): void {
    setTimeout(() => {
      const now = this.now();
      const left = this.outbox.heldUntil(u) - now;
      if (left > 0) this.flushAfterHold(u, left);
      else this.flushOutbox(u, now);
    }, Math.ceil(delayMs) + 1).unref();
  }

  /**
   * A send ends without an answer from the target (`reason`). Never written:
   * nobody expects it. Written (real system): it may have been stored, so it is
   * abandoned (not expected, counted delivered if it comes) and unacknowledged.
   * Bare targets: it stays expected (an undelivered bare send is lost).
   */
  private failUnanswered(p: PendingSend, reason: string): void {
    if (p.transmits === 0) this.integrity.reject(p.stream, p.number, p.group);
    else if (this.driver.acks) {
      this.integrity.abandon(p.stream, p.number, p.group);
      this.metrics.counter.messages_unacknowledged.add(1, p.scenario);
    }
    if (p.media >= 0) this.media!.messageFailed(p.media, `message_${reason}`);
    this.outcomes.failed(p.scenario, reason);
    this.sends.release(p, false);
  }

  private readonly expired = (p: PendingSend): void => {
    this.metrics.counter.iteration_timeouts.add(1, p.scenario);
    if (p.queued) this.outbox.remove(p.sender, p);
    this.failUnanswered(p, SendFailure.TIMEOUT);
  };

  /** User u gave up reconnecting: what waits in its outbox fails. */
  private gaveUp(u: number): void {
    const waiting = this.outbox.takeAll(u);
    for (let i = 0; i < waiting.length; i++) this.failUnanswered(waiting[i]!, SendFailure.RECONNECT_FAILED);
  }

  // ---------------------------------------------------------------- users leaving

  /** Close user u's connection on purpose (its sends on the wire wait in its outbox until it is back). */
  disconnect(u: number): void {
    if (!this.connections.closing) this.requeueInFlight(u);
    if (this.connections.close(u)) this.reconnects.dropped(u, this.now());
  }

  closeAll(): void {
    this.connections.beginClosing();
    for (let u = 0; u < this.n; u++) if (this.connections.connection(u)) this.disconnect(u);
  }

  // ---------------------------------------------------------------- events from connections

  onOpen(u: number): void {
    if (this.outbox.sizeOf(u) > 0) this.flushOutbox(u, this.now());
  }

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
    if (!replay) {
      m.trend.delivery_latency.record(now - h.scheduledMs, h.scenario);
      // Number 1 of a 1:1 stream is its sender's first message to that peer: with e2ee it started the session.
      if (this.e2ee && h.number === 1 && h.flags !== HEADER_FLAG_GROUP) m.trend.e2ee_first_message_latency.record(now - h.scheduledMs, h.scenario);
    } else {
      const back = this.reconnects.startedAt(r);
      if (back > 0) m.trend.offline_delivery_latency.record(now - back, h.scenario);
    }
    if (!this.driver.acks) {
      // Bare targets have no acks: the iteration ends when its message arrives.
      const p = this.sends.ofHeader(h.slot, h.stream, h.number);
      if (p) this.settleOk(p);
    }
    if (h.flags === HEADER_FLAG_MEDIA) this.media?.delivered(this.connections.globalIndex(r), chatId, body);
    this.reads.maybeRead(r, chatId, id, now, this.rng);
  }

  onSent(sender: number, ref: number, id: number, chatId: string): void {
    const p = this.sends.ofRef(ref, sender);
    if (!p) return; // timed out already
    this.metrics.trend.sent_ack_latency.record(this.now() - p.scheduledMs, p.scenario);
    this.receipts.acknowledged(sender, chatId, id, p.scheduledMs);
    this.settleOk(p);
  }

  private settleOk(p: PendingSend): void {
    if (p.queued) this.outbox.remove(p.sender, p);
    this.outcomes.ok(p.scenario);
    this.sends.release(p, true);
  }

  onRejected(sender: number, ref: number, code: string): void {
    const m = this.metrics;
    m.counter.errors.add(1);
    const p = this.sends.ofRef(ref, sender);
    if (!p || p.queued) return;
    if (code === ErrorCode.UNAVAILABLE && p.errorRetries < ERROR_RETRIES_MAX) return this.retryLater(p, this.now());
    this.integrity.reject(p.stream, p.number, p.group);
    m.counter.messages_rejected.add(1, p.scenario);
    if (p.media >= 0) this.media!.messageFailed(p.media, `message_${code}`);
    this.outcomes.failed(p.scenario, code);
    this.sends.release(p, false);
  }

  onError(_u: number, _code: string): void {
    this.metrics.counter.errors.add(1);
  }

  /** Counted with its reason; the message itself, never seen by integrity, counts lost at the end unless it comes again. */
  onUndecryptable(_u: number, reason: string): void {
    this.metrics.counter.e2ee_decrypt_failed.add(1);
    this.metrics.addLabelled('e2ee_decrypt_failed', 'reason', reason);
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
    this.requeueInFlight(u);
    this.connections.lost(u);
    const waiting = this.reconnects.cancelDrain(u);
    if (waiting) {
      this.reconnects.failed('closed_before_drain');
      waiting.vu.executor.iterationDone(waiting.vu, waiting.gen, false);
    }
    this.reconnects.reconnectLater(u);
  }

  // ---------------------------------------------------------------- periodic work and the end

  /** Timeouts and read acks. Called by the scheduler every tick. */
  tick(now: number): void {
    this.sends.expire(now, this.plan.iterationTimeoutMs, this.expired);
    this.reads.flush(now);
  }

  /** Nothing waits for a tick: no send in flight or in an outbox, no read due, no media running (the scheduler may sleep longer). */
  quiet(): boolean {
    return this.sends.inUseCount === 0 && this.outbox.size === 0 && this.reads.empty && (this.media?.running ?? 0) === 0;
  }

  /** Messages accepted but not yet delivered, split by whether the recipient is online now. */
  outstanding(): { online: number; offline: number } {
    return this.integrity.outstanding(this.connections.isOnline);
  }

  /** Describe up to `max` lost messages (recipient online, message never arrived), for the log. */
  describeLost(t0: number, max = 5): string[] {
    return this.integrity.describeLost(t0, this.connections.isOnline, this.reconnects, max);
  }

  /**
   * End of run, before countMissing: every send still waiting for its outcome
   * (in an outbox, or on the wire unanswered) is counted queued_at_end and
   * settled like a failed one (never written: not expected; written: abandoned),
   * then forgotten, so nothing arriving later counts it twice.
   */
  settleQueuedAtEnd(): void {
    this.outbox.clear();
    this.sends.forEachInUse(this.settleAtEnd);
    this.media?.settleAtEnd((scenario) => this.outcomes.queuedAtEnd(scenario));
  }

  private readonly settleAtEnd = (p: PendingSend): void => {
    if (p.transmits === 0) this.integrity.reject(p.stream, p.number, p.group);
    else if (this.driver.acks) {
      this.integrity.abandon(p.stream, p.number, p.group);
      this.metrics.counter.messages_unacknowledged.add(1, p.scenario);
    }
    this.outcomes.queuedAtEnd(p.scenario);
    this.sends.forget(p);
  };

  /** End of run: what never arrived is lost (recipient online) or queued (recipient offline). */
  countMissing(): void {
    this.integrity.countMissing(this.metrics, this.connections.isOnline);
  }
}
