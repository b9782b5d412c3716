// The chat engine in process, for fast deterministic tests: a real embedded
// store (SQLite in memory), an injected clock, the timers off (tests step
// them), and a fake sink that records the engine's effects instead of encoding
// frames. A commit made by the store is recorded in the same log, so a test can
// check that nothing is acknowledged before it is durable.
import { ChatEngine, type LinkSink } from '../../server/chat/engine';
import type { Effect, EffectSink } from '../../server/chat/effects';
import type { PartitionGate } from '../../server/chat/partition-gate';
import { DEFAULT_LIMITS, type Limits } from '../../server/common/config';
import { PROVISIONED_USER_ID_MIN } from '../../server/common/ids';
import { encodeClientFrame, type ClientFrameInit } from '../../server/common/protocol';
import { SqliteStore } from '../../server/store/embedded/sqlite-store';
import type { CommitBatch } from '../../server/store/store';

export interface FakeLink extends LinkSink {
  readonly id: string;
}

export type Logged = Effect<FakeLink> | { t: 'commit'; messages: number; watermarks: number };

/** The fake sink: every effect, in order, with the store's commits interleaved. */
export class EffectLog implements EffectSink<FakeLink> {
  readonly all: Logged[] = [];

  emit(effect: Effect<FakeLink>): void {
    this.all.push(effect);
  }

  /** Effects of one kind since the log was last cleared. */
  of<T extends Logged['t']>(t: T): Extract<Logged, { t: T }>[] {
    return this.all.filter((e): e is Extract<Logged, { t: T }> => e.t === t);
  }

  clear(): void {
    this.all.length = 0;
  }
}

/** A store that records its commits in the effect log (a real SQLite store underneath). */
class LoggingStore extends SqliteStore {
  constructor(private readonly log: EffectLog) {
    super({ path: ':memory:' });
  }

  override async commit(batch: CommitBatch): Promise<void> {
    await super.commit(batch);
    this.log.all.push({ t: 'commit', messages: batch.messages.length, watermarks: batch.watermarks.length });
  }
}

export class EngineHarness {
  readonly log = new EffectLog();
  readonly store: LoggingStore;
  readonly engine: ChatEngine<FakeLink>;
  readonly link: FakeLink = { id: 'gw-test', push: () => { throw new Error('the fake sink receives everything'); } };
  /** The engine's clock, in ms; tests move it. */
  nowMs = Date.UTC(2026, 0, 1);
  private nextConn = 1;
  private nextUser = PROVISIONED_USER_ID_MIN;
  private readonly connOf = new Map<number, number>();

  constructor(limits: Partial<Limits> = {}, gate: PartitionGate | null = null) {
    this.store = new LoggingStore(this.log);
    // No tick linger unless a test asks: these tests step ticks with settle(), and the deterministic perf gate's
    // workload (tools/perf-gate/instr-workload.ts) counts instructions through this harness, where a lingering tick
    // would be counted as settle()'s polling.
    this.engine = new ChatEngine<FakeLink>(this.store, { ...DEFAULT_LIMITS, tick_linger_ms: 0, ...limits }, {
      now: () => this.nowMs, sink: this.log, timers: false, gate,
    });
  }

  async start(): Promise<this> {
    await this.engine.start();
    return this;
  }

  async close(): Promise<void> {
    this.engine.stop();
    await this.store.close();
  }

  /** A user id that exists in the store (offline until connected). */
  async newUser(): Promise<number> {
    const id = this.nextUser++;
    await this.store.provisionUsers(id, 1, this.nowMs);
    return id;
  }

  /** Connect `user` (a new connection) and let the tick run (its drain included). */
  async connect(user: number): Promise<number> {
    const conn = this.nextConn++;
    this.connOf.set(user, conn);
    this.engine.enqueue(this.link, { kind: 'connected', conn, user });
    await this.settle();
    return conn;
  }

  /** The connection id `user` was last connected with (undefined: not connected). */
  connectionOf(user: number): number | undefined {
    return this.connOf.get(user);
  }

  async disconnect(user: number): Promise<void> {
    this.engine.enqueue(this.link, { kind: 'disconnected', conn: this.connOf.get(user)!, user });
    this.connOf.delete(user);
    await this.settle();
  }

  /** A client frame from `user`'s connection (encoded as a gateway relays it). */
  frame(user: number, frame: ClientFrameInit): void {
    const conn = this.connOf.get(user);
    if (conn === undefined) throw new Error(`user ${user} is not connected`);
    this.engine.enqueue(this.link, { kind: 'frame', conn, user, frame: encodeClientFrame(frame), recv_at_us: 1 });
  }

  send(from: number, to: number, text: string, cmid = `c-${from}-${text}`, ref = 0): void {
    this.frame(from, { ref, send: { to_user: to, client_msg_id: cmid, body: Buffer.from(text) } });
  }

  sendGroup(from: number, chatId: string, text: string, cmid = `g-${from}-${text}`): void {
    this.frame(from, { send: { chat_id: chatId, client_msg_id: cmid, body: Buffer.from(text) } });
  }

  ack(user: number, chatId: string, deliveredUpTo: number, readUpTo = 0): void {
    this.frame(user, { ack: { chat_id: chatId, delivered_up_to: deliveredUpTo, read_up_to: readUpTo } });
  }

  /** Every tick that the enqueued events cause has run. */
  async settle(): Promise<void> {
    await this.engine.settle();
  }

  /** Which users a message effect reached, with the body text. */
  deliveries(): { users: readonly number[]; text: string; id: number; seq: number }[] {
    return this.log.of('message').map((e) => ({ users: e.users, text: Buffer.from(e.msg.body).toString(), id: e.msg.id, seq: e.msg.seq }));
  }
}
