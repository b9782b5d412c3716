// A worker thread's world: its slice of users, their connections, who is
// online, the sender -> recipient streams and everything that comes back on
// the connections (deliveries, sent acks, rejections, receipts, drains).
// Workloads (loadgen/workloads/) act on it; executors only decide when.
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
import type { ConnectionEvents, LoadConnection, LoadDriver } from '../drivers/connection';
import type { Vu } from '../executors/executor';
import { intSampler, Rng, type Sampler } from '../model/distribution';
import { HEADER_FLAG_GROUP, readHeader, type PayloadHeader } from '../model/payload';
import { LatencyHistogram } from '../metrics/latency';
import { Arrival, StreamTracker } from './integrity';
import { GROUP_POSITIONS_MAX, GroupTable } from './groups';

export const enum UserState {
  Offline = 0,
  Connecting = 1,
  Online = 2,
}

/** Connects in flight at once per worker during setup. */
const SETUP_CONNECTS_IN_FLIGHT_MAX = 128;
/** Attempts per user to connect during setup (a connect storm can time some out). */
const SETUP_CONNECT_ATTEMPTS_MAX = 5;
/** A setup connect must be settled (DrainDone) within this. */
const SETUP_DRAIN_TIMEOUT_MS = 30_000;
/** After the target closes a connection, the user reconnects after this (times the attempt number). */
const AUTO_RECONNECT_DELAY_MS = 1000;
const AUTO_RECONNECT_ATTEMPTS_MAX = 5;
/** Silent connections send a ping this often (the server's idle timeout is 60 s by default). */
const HEARTBEAT_MS = 20_000;
/** Read acks are scheduled in buckets of this many ms. */
const READ_BUCKET_MS = 10;
/** Per sender and chat, messages awaiting their receipts; older ones are forgotten past this. */
const RECEIPT_QUEUE_MAX = 100_000;
/** Group creations in flight at once per worker during setup. */
const SETUP_GROUP_CREATES_IN_FLIGHT_MAX = 16;

/** An in-flight send, pooled; ref on the wire = index + 1. */
interface PendingSend {
  index: number;
  /** Bumped on every reuse, so a stale timeout entry or late reply is recognised. */
  seq: number;
  inUse: boolean;
  vu: Vu | null;
  gen: number;
  sender: number;
  stream: number;
  number: number;
  scheduledMs: number;
  sentAtMs: number;
  scenario: number;
  /** The group sent to (stream = group * 256 + sender position), or -1 for a 1:1 message. */
  group: number;
}

class ReceiptQueue {
  ids: number[] = [];
  times: number[] = [];
  /** Next entry awaiting a delivered receipt / a read receipt. */
  dHead = 0;
  rHead = 0;
  constructor(private readonly trackRead: boolean) {}
  push(id: number, scheduledMs: number): void {
    if (this.ids.length - this.low() >= RECEIPT_QUEUE_MAX) {
      this.dHead++;
      this.rHead++;
    }
    this.ids.push(id);
    this.times.push(scheduledMs);
  }
  /**
   * A receipt watermark covers every entry up to `upTo`. A read watermark
   * implies delivered, so it also covers what no delivered receipt covered yet.
   */
  cover(kind: number, upTo: number, onDelivered: (scheduledMs: number) => void, onRead: (scheduledMs: number) => void): void {
    while (this.dHead < this.ids.length && this.ids[this.dHead]! <= upTo) onDelivered(this.times[this.dHead++]!);
    if (kind === 2 && this.trackRead) {
      while (this.rHead < this.ids.length && this.ids[this.rHead]! <= upTo) onRead(this.times[this.rHead++]!);
    }
    this.compact();
  }
  private low(): number {
    return this.trackRead ? Math.min(this.dHead, this.rHead) : this.dHead;
  }
  private compact(): void {
    const low = this.low();
    if (low > 1024 && low * 2 > this.ids.length) {
      this.ids = this.ids.slice(low);
      this.times = this.times.slice(low);
      this.dHead -= low;
      this.rHead -= low;
    }
  }
}

export interface SetupStats {
  connected: number;
  failed: number;
  durationMs: number;
  /** Encoded HDR of setup connect times (kept apart from the measured window). */
  connectTime: string;
  firstError: string;
  /** Group chats created for the group workload, and creations that failed. */
  groupsCreated: number;
  groupsFailed: number;
}

export class World {
  readonly n: number;
  readonly contacts: number;
  readonly offsets: Int32Array;
  readonly state: Uint8Array;
  readonly conns: (LoadConnection | null)[];
  readonly tracker: StreamTracker;
  readonly rng: Rng;
  readonly messageBytes: Sampler;
  readonly header: PayloadHeader = { scheduledMs: 0, stream: 0, number: 0, slot: 0, scenario: 0, flags: 0 };
  /** Group chats among this world's users (none unless the traffic model has groupsPerUser > 0). */
  readonly groups: GroupTable;
  /** Messages numbered per group sender stream (group * 256 + position). */
  private readonly groupNext: Uint32Array;

  // online set: O(1) add/remove, O(1) pick
  private readonly onlineList: Int32Array;
  private readonly contactCursor: Uint8Array;
  private readonly onlinePos: Int32Array;
  onlineCount = 0;
  private rr = 0;

  /** Users the disconnect workload takes, in order; the reconnect workload brings back what it (or the start) left offline. */
  readonly dropOrder: number[] = [];
  dropCursor = 0;
  readonly offlineQueue: number[] = [];
  offlineHead = 0;
  readonly reconnectStartMs: Float64Array;
  /** The reconnect iteration waiting for this user's DrainDone. */
  readonly awaitingDrain: ({ vu: Vu; gen: number } | null)[];
  private readonly closingByUs: Uint8Array;
  /** Setup connects waiting for their DrainDone. */
  private readonly setupDrains = new Map<number, () => void>();
  readonly droppedAtMs: Float64Array;
  /** LG_DEBUG_LOST=1: remember when each message was sent (stream * 2^24 + number -> ms), to describe losses. */
  private readonly debugSent: Map<number, number> | null = process.env.LG_DEBUG_LOST === '1' ? new Map() : null;
  private readonly lastActivityMs: Float64Array;

  private readonly pending: PendingSend[] = [];
  /** In-use pending sends per sender (to abandon them when its connection closes). */
  private readonly pendingBySender: Int32Array;
  private readonly freePending: number[] = [];
  private readonly timeoutFifo: { p: PendingSend; seq: number }[] = [];
  private timeoutHead = 0;

  private readonly receipts: (Map<string, ReceiptQueue> | undefined)[];
  private readonly readProbability: number;
  private readonly readDelay: Sampler;
  private readonly readWheel = new Map<number, { user: number; chat: string; id: number }[]>();
  private readWheelNext = 0;
  private lastHeartbeatSweepMs = 0;
  closing = false;
  /** Worker clock of the first reconnect start and the last DrainDone of a reconnect (0: none). */
  firstReconnectMs = 0;
  lastDrainDoneMs = 0;

  constructor(
    readonly segment: Segment,
    readonly plan: RunPlan,
    readonly driver: LoadDriver,
    readonly metrics: MetricsRegistry,
    private readonly localAddresses: string[],
  ) {
    const t = plan.traffic;
    this.n = segment.users;
    this.contacts = t.contactsPerUser;
    // Contacts spread over the slice: user u writes to u + offsets[j] (mod n), all distinct and != u.
    const stride = Math.max(1, Math.floor((this.n - 1) / this.contacts));
    this.offsets = Int32Array.from({ length: this.contacts }, (_, j) => 1 + j * stride);
    this.state = new Uint8Array(this.n);
    this.conns = new Array(this.n).fill(null);
    this.rng = new Rng(0x5eed + segment.index * 7919);
    this.groups = new GroupTable(this.n, t, new Rng(0x6709 + segment.index * 7919), this.n * this.contacts);
    this.groupNext = new Uint32Array(this.groups.count * GROUP_POSITIONS_MAX);
    this.tracker = new StreamTracker(this.n * this.contacts + this.groups.recvStreams);
    this.messageBytes = intSampler(t.messageBytes);
    this.onlineList = new Int32Array(this.n);
    this.contactCursor = new Uint8Array(this.n);
    this.onlinePos = new Int32Array(this.n).fill(-1);
    this.reconnectStartMs = new Float64Array(this.n);
    this.awaitingDrain = new Array(this.n).fill(null);
    this.closingByUs = new Uint8Array(this.n);
    this.droppedAtMs = new Float64Array(this.n);
    this.pendingBySender = new Int32Array(this.n);
    this.lastActivityMs = new Float64Array(this.n);
    this.receipts = new Array(this.n);
    this.readProbability = t.readReceipts.probability;
    this.readDelay = intSampler(t.readReceipts.delayMs);
    for (let u = 0; u < this.n; u++) {
      if (!spreadPick(u, t.onlineShare)) this.offlineQueue.push(u);
      else if (spreadPick(u, t.reconnect.dropShare)) this.dropOrder.push(u);
    }
  }

  now(): number {
    return performance.now();
  }

  globalIndex(u: number): number {
    return this.segment.userFirst + u;
  }

  /** The recipient of a tracker stream: a 1:1 stream (sender * contacts + j) or a group (sender, recipient) stream. */
  recipientOf(stream: number): number {
    if (stream >= this.groups.streamBase) return this.groups.recipientOfRecv(stream);
    const sender = Math.floor(stream / this.contacts);
    return (sender + this.offsets[stream - sender * this.contacts]!) % this.n;
  }

  isOnlineAtStart(u: number): boolean {
    return spreadPick(u, this.plan.traffic.onlineShare);
  }

  // ---------------------------------------------------------------- setup / teardown

  /**
   * Connect every user that is online at the start. With `touchOffline`, users
   * that start offline connect once and leave (so the target knows them).
   */
  async setup(touchOffline: boolean, log: (line: string) => void): Promise<SetupStats> {
    const hist = new LatencyHistogram();
    const start = this.now();
    let failed = 0;
    let retried = 0;
    let firstError = '';
    let next = 0;
    const todo: number[] = [];
    for (let u = 0; u < this.n; u++) if (touchOffline || this.isOnlineAtStart(u)) todo.push(u);
    let lastLog = start;
    const connectOne = async (u: number): Promise<void> => {
      const t0 = this.now();
      // Set up means settled: the target has processed the connect (its DrainDone came), so the
      // server's share of a connection storm is not carried into the measured window.
      const drained = this.driver.acks ? this.waitSetupDrain(u) : null;
      drained?.catch(() => {}); // observed below; a failed connect leaves it to time out quietly
      await this.connect(u).catch((err) => {
        this.setupDrains.delete(u);
        throw err;
      });
      hist.recordMs(this.now() - t0);
      if (drained) await drained;
      if (!this.isOnlineAtStart(u)) this.disconnect(u);
    };
    const runOne = async (): Promise<void> => {
      while (next < todo.length) {
        const u = todo[next++]!;
        // A connect that times out in a storm is retried, as a phone would; out of descriptors is final.
        for (let attempt = 1; ; attempt++) {
          try {
            await connectOne(u);
            break;
          } catch (err) {
            const message = (err as Error).message;
            if (/EMFILE|ENFILE|file descriptors/.test(message)) throw err;
            if (this.state[u] !== UserState.Offline) this.disconnect(u);
            if (attempt < SETUP_CONNECT_ATTEMPTS_MAX) {
              retried++;
              await new Promise((r) => setTimeout(r, 1000 * attempt));
              continue;
            }
            failed++;
            firstError ||= message;
            break;
          }
        }
        if (this.now() - lastLog > 5000) {
          lastLog = this.now();
          log(`setup: ${next}/${todo.length} connections${retried ? ` (${retried} retried)` : ''}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(SETUP_CONNECTS_IN_FLIGHT_MAX, todo.length) }, runOne));
    const groups = await this.createGroups(log);
    firstError ||= groups.firstError;
    return {
      connected: hist.count, failed, durationMs: this.now() - start, connectTime: hist.encode(), firstError,
      groupsCreated: groups.created, groupsFailed: groups.failed,
    };
  }

  /**
   * Create this world's group chats, each by its first online member (the
   * server makes the creator its admin). A group with nobody online at the
   * start is not created and never sent to.
   */
  private async createGroups(log: (line: string) => void): Promise<{ created: number; failed: number; firstError: string }> {
    const g = this.groups;
    let created = 0;
    let failed = 0;
    let firstError = '';
    if (g.count === 0) return { created, failed, firstError };
    let next = 0;
    const createOne = async (i: number): Promise<void> => {
      const s = g.size[i]!;
      let creatorPos = 0;
      while (creatorPos < s && this.state[g.member(i, creatorPos)] !== UserState.Online) creatorPos++;
      if (creatorPos === s) return;
      const conn = this.conns[g.member(i, creatorPos)]!;
      if (!conn.createGroup) throw new Error(`the ${this.driver.name} target has no group chats: the group workload needs the real system`);
      const others: number[] = [];
      for (let p = 0; p < s; p++) if (p !== creatorPos) others.push(this.globalIndex(g.member(i, p)));
      try {
        g.setChatId(i, await conn.createGroup(`lg ${this.segment.index}.${i}`, others));
        created++;
      } catch (err) {
        failed++;
        firstError ||= `creating group ${i} (${s} members): ${(err as Error).message}`;
      }
    };
    const runOne = async (): Promise<void> => {
      while (next < g.count) await createOne(next++);
    };
    const t0 = this.now();
    await Promise.all(Array.from({ length: Math.min(SETUP_GROUP_CREATES_IN_FLIGHT_MAX, g.count) }, runOne));
    log(`setup: ${created} group chat(s) created in ${Math.round(this.now() - t0)} ms` +
      `${created < g.count ? ` (${g.count - created} not: ${failed} failed, the rest had nobody online)` : ''}`);
    return { created, failed, firstError };
  }

  /** Open user u's connection; resolves once it is online. */
  async connect(u: number): Promise<void> {
    this.state[u] = UserState.Connecting;
    this.closingByUs[u] = 0;
    const gi = this.globalIndex(u);
    const addr = this.localAddresses.length > 0 ? this.localAddresses[gi % this.localAddresses.length] : undefined;
    let conn: LoadConnection;
    try {
      const ev = this.eventsFor(u);
      conn = await this.driver.connect(gi, ev, addr);
      ev.bind(conn);
    } catch (err) {
      this.state[u] = UserState.Offline;
      throw err;
    }
    if (this.closing) {
      conn.close();
      this.state[u] = UserState.Offline;
      return;
    }
    this.conns[u] = conn;
    this.state[u] = UserState.Online;
    this.lastActivityMs[u] = this.now();
    this.addOnline(u);
  }

  /**
   * Sends of user u still waiting for their ack when its connection goes: the
   * target may or may not have them (a real client would retry them). Not
   * expected any more, counted as messages_unacknowledged. Bare targets have
   * no acks: there an unanswered send simply is lost.
   */
  private abandonPending(u: number): void {
    if (!this.driver.acks || this.pendingBySender[u] === 0) return;
    for (const p of this.pending) {
      if (!p.inUse || p.sender !== u) continue;
      this.abandonOne(p);
    }
  }

  private abandonOne(p: PendingSend): void {
    if (p.group >= 0) this.forEachGroupRecv(p, (stream) => this.tracker.abandon(stream, p.number));
    else this.tracker.abandon(p.stream, p.number);
    this.metrics.counter.messages_unacknowledged.add(1, p.scenario);
    this.releasePending(p, false);
  }

  /** Close user u's connection on purpose. */
  disconnect(u: number): void {
    this.abandonPending(u);
    const c = this.conns[u];
    this.removeOnline(u);
    this.state[u] = UserState.Offline;
    this.conns[u] = null;
    if (c) {
      this.droppedAtMs[u] = this.now();
      this.closingByUs[u] = 1;
      c.close();
    }
  }

  closeAll(): void {
    this.closing = true;
    for (let u = 0; u < this.n; u++) if (this.conns[u]) this.disconnect(u);
  }

  get connectionsOpen(): number {
    return this.onlineCount;
  }

  // ---------------------------------------------------------------- online set

  private addOnline(u: number): void {
    if (this.onlinePos[u]! >= 0) return;
    this.onlinePos[u] = this.onlineCount;
    this.onlineList[this.onlineCount++] = u;
  }

  private removeOnline(u: number): void {
    const pos = this.onlinePos[u]!;
    if (pos < 0) return;
    const last = this.onlineList[--this.onlineCount]!;
    this.onlineList[pos] = last;
    this.onlinePos[last] = pos;
    this.onlinePos[u] = -1;
  }

  /** The contact index user u writes to next (round robin per sender). */
  nextContact(u: number): number {
    const j = this.contactCursor[u]!;
    this.contactCursor[u] = j + 1 === this.contacts ? 0 : j + 1;
    return j;
  }

  /** The next online sender, round robin; -1 if nobody is online. */
  nextSender(): number {
    if (this.onlineCount === 0) return -1;
    if (this.rr >= this.onlineCount) this.rr = 0;
    return this.onlineList[this.rr++]!;
  }

  // ---------------------------------------------------------------- sends

  /** Send one message from `sender` to its contact `j`; the iteration ends at the sent ack (system) or the delivery (bare). */
  send(vu: Vu, sender: number, j: number, scenario: number, body: Buffer, writeHeader: (buf: Buffer, stream: number, num: number, slot: number) => void): void {
    const stream = sender * this.contacts + j;
    const num = this.tracker.assign(stream);
    const p = this.pendSend(vu, sender, stream, num, scenario, -1);
    const now = p.sentAtMs;
    writeHeader(body, stream, num, p.index);
    this.debugSent?.set(stream * 2 ** 24 + num, now);
    const to = this.recipientOf(stream);
    this.conns[sender]!.sendMessage(this.globalIndex(to), body, p.index + 1, `${j.toString(36)}.${num.toString(36)}`);
    this.lastActivityMs[sender] = now;
    const m = this.metrics;
    m.counter.messages_sent.add(1, scenario);
    m.counter.data_sent.add(body.length, scenario);
  }

  /** Send one message from position `pos` of group g to the group; the iteration ends at the sent ack. */
  sendGroup(vu: Vu, g: number, pos: number, scenario: number, body: Buffer, writeHeader: (buf: Buffer, stream: number, num: number, slot: number) => void): void {
    const groups = this.groups;
    const sender = groups.member(g, pos);
    const stream = g * GROUP_POSITIONS_MAX + pos;
    const num = ++this.groupNext[stream]!;
    const s = groups.size[g]!;
    // Every other member expects this number next from this sender.
    for (let k = 0; k < s; k++) if (k !== pos) this.tracker.assign(groups.recvStream(g, pos, k));
    const p = this.pendSend(vu, sender, stream, num, scenario, g);
    const now = p.sentAtMs;
    writeHeader(body, stream, num, p.index);
    body[21] = HEADER_FLAG_GROUP;
    this.conns[sender]!.sendGroupMessage(groups.chatIds[g]!, body, p.index + 1, `g${g.toString(36)}.${pos.toString(36)}.${num.toString(36)}`);
    this.lastActivityMs[sender] = now;
    const m = this.metrics;
    m.counter.messages_sent.add(1, scenario);
    m.counter.group_messages_sent.add(1, scenario);
    m.counter.data_sent.add(body.length, scenario);
  }

  private readonly isOnline = (u: number): boolean => this.state[u] === UserState.Online;

  /** The next group send (group, sender position) with an online sender, or null. */
  nextGroupSend(): { group: number; pos: number } | null {
    return this.groups.nextSend(this.isOnline);
  }

  private forEachGroupRecv(p: PendingSend, f: (stream: number) => void): void {
    const pos = p.stream - p.group * GROUP_POSITIONS_MAX;
    const s = this.groups.size[p.group]!;
    for (let k = 0; k < s; k++) if (k !== pos) f(this.groups.recvStream(p.group, pos, k));
  }

  /** A pending send for this message, stamped now: it waits for its sent ack (or delivery). */
  private pendSend(vu: Vu, sender: number, stream: number, num: number, scenario: number, group: number): PendingSend {
    const p = this.takePending();
    p.vu = vu;
    p.gen = vu.gen;
    p.sender = sender;
    p.stream = stream;
    p.number = num;
    p.scheduledMs = vu.scheduledMs;
    p.scenario = scenario;
    p.group = group;
    this.pendingBySender[sender]!++;
    p.sentAtMs = this.now();
    return p;
  }

  private takePending(): PendingSend {
    const idx = this.freePending.pop();
    let p: PendingSend;
    if (idx === undefined) {
      p = { index: this.pending.length, seq: 0, inUse: false, vu: null, gen: 0, sender: 0, stream: 0, number: 0, scheduledMs: 0, sentAtMs: 0, scenario: 0, group: -1 };
      this.pending.push(p);
    } else {
      p = this.pending[idx]!;
    }
    p.seq++;
    p.inUse = true;
    this.timeoutFifo.push({ p, seq: p.seq });
    return p;
  }

  private releasePending(p: PendingSend, ok: boolean): void {
    p.inUse = false;
    this.pendingBySender[p.sender]!--;
    const vu = p.vu!;
    p.vu = null;
    this.freePending.push(p.index);
    vu.executor.iterationDone(vu, p.gen, ok);
  }

  private pendingOf(ref: number, sender: number): PendingSend | null {
    const p = this.pending[ref - 1];
    return p !== undefined && p.inUse && p.sender === sender ? p : null;
  }

  // ---------------------------------------------------------------- events from connections

  /** Events of one connection of user u; `bind` tells them which connection they belong to. */
  private eventsFor(u: number): ConnectionEvents & { bind(c: LoadConnection): void } {
    const world = this;
    let live = true;
    let mine: LoadConnection | null = null;
    return {
      bind: (c: LoadConnection) => {
        mine = c;
      },
      onDeliver: (body, replay, chatId, id) => live && world.onDeliver(u, body, replay, chatId, id),
      onSent: (ref, id, chatId) => live && world.onSent(u, ref, id, chatId),
      onRejected: (ref, code) => live && world.onRejected(u, ref, code),
      onError: () => live && world.metrics.counter.errors.add(1),
      onReceipt: (chatId, kind, upTo) => live && world.onReceipt(u, chatId, kind, upTo),
      onDrainDone: (messages) => live && world.onDrainDone(u, messages),
      onClose: () => {
        if (!live) return;
        live = false;
        // Only the user's current connection matters: one we closed, or replaced, is gone already.
        if (mine !== null && world.conns[u] === mine) world.onClose(u);
      },
    };
  }

  private onDeliver(r: number, body: Uint8Array, replay: boolean, chatId: string, id: number): void {
    const h = this.header;
    const m = this.metrics;
    if (!readHeader(body, h)) {
      m.counter.errors.add(1);
      return;
    }
    const stream = h.flags === HEADER_FLAG_GROUP ? this.groupRecvStreamOf(h.stream, r) : h.stream;
    if (stream < 0 || (h.flags !== HEADER_FLAG_GROUP && (stream >= this.n * this.contacts || this.recipientOf(stream) !== r))) {
      m.counter.errors.add(1);
      return;
    }
    const arrival = this.tracker.deliver(stream, h.number);
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
    else if (this.reconnectStartMs[r]! > 0) m.trend.offline_delivery_latency.record(now - this.reconnectStartMs[r]!, h.scenario);
    if (!this.driver.acks) {
      // Bare targets have no acks: the iteration ends when its message arrives.
      const p = this.pending[h.slot];
      if (p !== undefined && p.inUse && p.stream === h.stream && p.number === h.number) this.releasePending(p, true);
    }
    if (this.readProbability > 0 && id > 0 && this.rng.next() < this.readProbability) {
      this.scheduleRead(r, chatId, id, now + this.readDelay(this.rng));
    }
  }

  /** Tracker stream of a group message (wire stream = group * 256 + sender position) at recipient r; -1 if r is not a member. */
  private groupRecvStreamOf(wireStream: number, r: number): number {
    const g = Math.floor(wireStream / GROUP_POSITIONS_MAX);
    const pos = wireStream - g * GROUP_POSITIONS_MAX;
    if (g >= this.groups.count || pos >= this.groups.size[g]!) return -1;
    const rp = this.groups.positionOf(g, r);
    return rp < 0 || rp === pos ? -1 : this.groups.recvStream(g, pos, rp);
  }

  private onSent(sender: number, ref: number, id: number, chatId: string): void {
    const p = this.pendingOf(ref, sender);
    if (!p) return; // timed out already
    const now = this.now();
    const m = this.metrics;
    m.trend.sent_ack_latency.record(now - p.scheduledMs, p.scenario);
    m.rate.send_success.add(true, p.scenario);
    let byChat = this.receipts[sender];
    if (!byChat) this.receipts[sender] = byChat = new Map();
    let q = byChat.get(chatId);
    if (!q) byChat.set(chatId, (q = new ReceiptQueue(this.readProbability > 0)));
    q.push(id, p.scheduledMs);
    this.releasePending(p, true);
  }

  private onRejected(sender: number, ref: number, _code: string): void {
    const m = this.metrics;
    m.counter.errors.add(1);
    const p = this.pendingOf(ref, sender);
    if (!p) return;
    if (p.group >= 0) this.forEachGroupRecv(p, (stream) => this.tracker.skip(stream, p.number));
    else this.tracker.skip(p.stream, p.number);
    m.counter.messages_rejected.add(1, p.scenario);
    m.rate.send_success.add(false, p.scenario);
    this.releasePending(p, false);
  }

  private onReceipt(sender: number, chatId: string, kind: number, upTo: number): void {
    const q = this.receipts[sender]?.get(chatId);
    if (!q) return;
    const now = this.now();
    const m = this.metrics;
    q.cover(
      kind, upTo,
      (scheduledMs) => m.trend.receipt_delivered_latency.record(now - scheduledMs),
      (scheduledMs) => m.trend.receipt_read_latency.record(now - scheduledMs),
    );
  }

  private waitSetupDrain(u: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.setupDrains.delete(u);
        reject(new Error(`no DrainDone within ${SETUP_DRAIN_TIMEOUT_MS} ms of connecting`));
      }, SETUP_DRAIN_TIMEOUT_MS);
      this.setupDrains.set(u, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private onDrainDone(u: number, messages: number): void {
    const setup = this.setupDrains.get(u);
    if (setup) {
      this.setupDrains.delete(u);
      setup();
      return;
    }
    const waiting = this.awaitingDrain[u];
    if (!waiting) return;
    this.awaitingDrain[u] = null;
    const m = this.metrics;
    const now = this.now();
    this.lastDrainDoneMs = now;
    m.trend.drain_time.record(now - this.reconnectStartMs[u]!);
    m.counter.messages_drained.add(messages);
    m.counter.users_reconnected.add(1);
    m.rate.reconnect_success.add(true);
    waiting.vu.executor.iterationDone(waiting.vu, waiting.gen, true);
  }

  private onClose(u: number): void {
    if (this.closing) return;
    this.metrics.counter.disconnects_unexpected.add(1);
    this.abandonPending(u);
    this.removeOnline(u);
    this.state[u] = UserState.Offline;
    this.conns[u] = null;
    const waiting = this.awaitingDrain[u];
    if (waiting) {
      this.awaitingDrain[u] = null;
      this.metrics.rate.reconnect_success.add(false);
      waiting.vu.executor.iterationDone(waiting.vu, waiting.gen, false);
    }
    // A real client comes back (and resyncs from its offline queue); so does ours.
    this.autoReconnect(u, 1);
  }

  private autoReconnect(u: number, attempt: number): void {
    if (attempt > AUTO_RECONNECT_ATTEMPTS_MAX) return;
    setTimeout(() => {
      if (this.closing || this.state[u] !== UserState.Offline || this.closingByUs[u]) return;
      this.reconnectStartMs[u] = this.now();
      this.connect(u).then(
        () => this.metrics.counter.reconnects_automatic.add(1),
        () => {
          this.metrics.counter.connect_errors.add(1);
          this.autoReconnect(u, attempt + 1);
        },
      );
    }, AUTO_RECONNECT_DELAY_MS * attempt).unref();
  }

  // ---------------------------------------------------------------- periodic work

  /** Timeouts, read acks, heartbeats. Called by the scheduler every tick. */
  tick(now: number): void {
    this.expirePending(now);
    this.flushReads(now);
    if (now - this.lastHeartbeatSweepMs >= 1000) {
      this.lastHeartbeatSweepMs = now;
      for (let i = 0; i < this.onlineCount; i++) {
        const u = this.onlineList[i]!;
        if (now - this.lastActivityMs[u]! > HEARTBEAT_MS) {
          this.lastActivityMs[u] = now;
          this.conns[u]!.heartbeat();
        }
      }
    }
  }

  private expirePending(now: number): void {
    const limit = now - this.plan.iterationTimeoutMs;
    const fifo = this.timeoutFifo;
    while (this.timeoutHead < fifo.length) {
      const e = fifo[this.timeoutHead]!;
      if (e.p.seq === e.seq && e.p.inUse) {
        if (e.p.sentAtMs > limit) break;
        this.metrics.counter.iteration_timeouts.add(1, e.p.scenario);
        if (this.driver.acks) this.abandonOne(e.p);
        else this.releasePending(e.p, false);
      }
      this.timeoutHead++;
    }
    if (this.timeoutHead > 4096 && this.timeoutHead * 2 > fifo.length) {
      fifo.splice(0, this.timeoutHead);
      this.timeoutHead = 0;
    }
  }

  private scheduleRead(user: number, chat: string, id: number, dueMs: number): void {
    const bucket = Math.ceil(dueMs / READ_BUCKET_MS);
    let list = this.readWheel.get(bucket);
    if (!list) this.readWheel.set(bucket, (list = []));
    list.push({ user, chat, id });
    if (this.readWheelNext === 0 || bucket < this.readWheelNext) this.readWheelNext = bucket;
  }

  private flushReads(now: number): void {
    if (this.readWheel.size === 0) return;
    const upTo = Math.floor(now / READ_BUCKET_MS);
    if (this.readWheelNext > upTo) return;
    // Coalesce per (user, chat): a read watermark covers everything below it.
    const latest = new Map<string, { user: number; chat: string; id: number }>();
    let nextBucket = 0;
    for (const [bucket, list] of this.readWheel) {
      if (bucket > upTo) {
        if (nextBucket === 0 || bucket < nextBucket) nextBucket = bucket;
        continue;
      }
      this.readWheel.delete(bucket);
      for (const r of list) {
        const key = `${r.user}/${r.chat}`;
        const prev = latest.get(key);
        if (!prev || prev.id < r.id) latest.set(key, r);
      }
    }
    this.readWheelNext = nextBucket;
    for (const r of latest.values()) {
      const c = this.conns[r.user];
      if (c) c.markRead(r.chat, r.id);
    }
  }

  /** Messages accepted but not yet delivered, split by whether the recipient is online now. */
  outstanding(): { online: number; offline: number } {
    let online = 0;
    let offline = 0;
    const streams = this.tracker.streams;
    for (let s = 0; s < streams; s++) {
      const missing = this.tracker.missing(s);
      if (missing <= 0) continue;
      if (this.state[this.recipientOf(s)] === UserState.Online) online += missing;
      else offline += missing;
    }
    return { online, offline };
  }

  /** Describe up to `max` lost messages (recipient online, message never arrived), for the log. */
  describeLost(t0: number, max = 5): string[] {
    const out: string[] = [];
    const streams = this.tracker.streams;
    for (let s = 0; s < streams && out.length < max; s++) {
      if (this.tracker.missing(s) <= 0) continue;
      const r = this.recipientOf(s);
      if (this.state[r] !== UserState.Online) continue;
      const group = s >= this.groups.streamBase ? this.groups.senderOfRecv(s) : null;
      const sender = group ? group.sender : Math.floor(s / this.contacts);
      const at = this.debugSent?.get(s * 2 ** 24 + this.tracker.missingNumbers(s, 1)[0]!);
      out.push(`user ${this.globalIndex(sender)} -> ${group ? `group ${group.group} -> ` : ''}${this.globalIndex(r)}: message #${this.tracker.missingNumbers(s, 3).join(', #')} of ${this.tracker.next[s]}` +
        (at !== undefined ? ` sent at ${((at - t0) / 1000).toFixed(3)}s` : '') +
        (this.reconnectStartMs[r]! > 0 ? `; recipient reconnected at ${((this.reconnectStartMs[r]! - t0) / 1000).toFixed(3)}s` : '') +
        (this.droppedAtMs[r]! > 0 ? `, dropped at ${((this.droppedAtMs[r]! - t0) / 1000).toFixed(3)}s` : ''));
    }
    return out;
  }

  /** End of run: what never arrived is lost (recipient online) or queued (recipient offline). */
  countMissing(): void {
    const { online, offline } = this.outstanding();
    const m = this.metrics;
    if (online > 0) {
      m.counter.delivery_lost.add(online);
      m.rate.delivery_success.add(false, -1, online);
    }
    if (offline > 0) m.counter.delivery_queued_offline.add(offline);
  }
}

/** Spread a share over users evenly: user u is picked iff floor((u+1)s) > floor(us). */
export function spreadPick(u: number, share: number): boolean {
  return Math.floor((u + 1) * share + 1e-9) > Math.floor(u * share + 1e-9);
}
