// A chat client over the real protocol: what a device does, minus the UI.
// The load generator, `make run` and the end-to-end tests all drive the system
// through it.
//
// It batches like the server does: every frame a connection queues in one
// event-loop turn (requests, acks, reads, and the load generator's pre-encoded
// sends through queueFrame) leaves as one ClientBatch (one WebSocket frame,
// one socket write). It acknowledges cumulatively: per chat it remembers the
// highest id received and sends one Ack per chat after `ackDelayMs` (TCP's
// delayed ack), so a burst of N deliveries costs one ack frame, not N; the
// delay is kept by the thread's shared ack clock (./ack-clock.ts), not a timer
// per client. It de-duplicates deliveries by (chat, seq) since delivery is
// at-least-once.
import { TurnBatcher } from '../../lib/turn-batcher';
import { ackClock, type AckDue } from './ack-clock';
import {
  decodeServerBatch,
  encodeClientFrame,
  frameBatch,
  type ClientFrameInit,
  type DrainDoneBody,
  type ErrorBody,
  type GroupInfoBody,
  type KeyBundlesBody,
  type KeysStoredBody,
  type KeysUploadBody,
  type MessageInfoBody,
  type HistoryPageBody,
  type MessageBody,
  type PongBody,
  type PresenceBody,
  type ReceiptBody,
  type SentAckBody,
  type ServerFrame,
} from '../../server/common/protocol';
import { DEFAULT_LIMITS } from '../../server/common/config';
import { connectTransport, type ConnectOptions, type Transport } from './transport';

/** Frames per ClientBatch; the server's batch_frames_max default (server/common/config.ts). */
const BATCH_FRAMES_MAX = DEFAULT_LIMITS.batch_frames_max;
const BATCH_BYTES_MAX = DEFAULT_LIMITS.frame_bytes_max / 2;

export interface ChatClientOptions extends ConnectOptions {
  /** Acknowledge deliveries automatically after this many ms (coalesced per chat). null: never. */
  ackDelayMs?: number | null;
  /** Also mark as read when acking. */
  autoRead?: boolean;
  /** Reply timeout for requests with a ref (send, history). */
  requestTimeoutMs?: number;
  /** The first ref of this client's requests (the load generator keeps refs below it for its own sends). */
  firstRef?: number;
}

export class ServerError extends Error {
  constructor(readonly code: string, message: string) {
    super(`${code}: ${message}`);
  }
}

interface PendingRequest {
  resolve: (f: ServerFrame) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Clients with frames queued this turn: one setImmediate per turn for all of them, not one per client. */
const dirtyClients = new TurnBatcher<ChatClient>((clients) => {
  for (let i = 0; i < clients.length; i++) clients[i]!.flushQueued();
});

export class ChatClient implements AckDue {
  onMessage: (m: MessageBody) => void = () => {};
  onReceipt: (r: ReceiptBody) => void = () => {};
  onPresence: (p: PresenceBody) => void = () => {};
  onError: (e: ErrorBody) => void = () => {};
  onDrainDone: (d: DrainDoneBody) => void = () => {};
  onClose: (code: number, reason: string) => void = () => {};
  /** Every frame, after the typed handlers (tests use it to see order). */
  onFrame: (f: ServerFrame) => void = () => {};

  closed = false;
  closeCode = 0;
  duplicates = 0;
  /** Encoded ClientFrames queued this turn (they leave in flushQueued). */
  private out: Uint8Array[] = [];
  private outQueued = false;
  private nextRef: number;
  private nextCmid = 1;
  private readonly requests = new Map<number, PendingRequest>();
  /** chat -> highest id received and not yet acked. */
  private readonly toAck = new Map<string, number>();
  /** Registered with the ack clock (acks due). */
  private ackScheduled = false;
  /** chat -> seqs seen above the contiguous prefix, for de-duplication. */
  private readonly seen = new Map<string, { prefix: number; above: Set<number> }>();
  private readonly cmidPrefix = `${process.pid.toString(36)}-${Math.random().toString(36).slice(2, 8)}-`;

  private constructor(private readonly transport: Transport, private readonly opts: ChatClientOptions) {
    this.nextRef = opts.firstRef ?? 1;
    transport.onmessage = (data) => this.onData(data);
    transport.onclose = (code, reason) => {
      this.closed = true;
      this.closeCode = code;
      for (const r of this.requests.values()) {
        clearTimeout(r.timer);
        r.reject(new Error(`connection closed (${code} ${reason})`));
      }
      this.requests.clear();
      this.toAck.clear(); // the ack clock's call finds the client closed and does nothing
      this.onClose(code, reason);
    };
  }

  static async connect(opts: ChatClientOptions): Promise<ChatClient> {
    return new ChatClient(await connectTransport(opts), opts);
  }

  /** A client over a transport already open (in-process: the generator's hot-path bench and its tests). */
  static over(transport: Transport, opts: Omit<ChatClientOptions, 'url' | 'token'> = {}): ChatClient {
    return new ChatClient(transport, { url: '', token: '', ...opts });
  }

  get bufferedAmount(): number {
    return this.transport.bufferedAmount;
  }

  newClientMsgId(): string {
    return this.cmidPrefix + (this.nextCmid++).toString(36);
  }

  /** Send a 1:1 message; resolves with the server's SentAck, rejects with ServerError. */
  send(toUser: number, body: Uint8Array, clientMsgId = this.newClientMsgId()): Promise<SentAckBody> {
    return this.request({ send: { to_user: toUser, client_msg_id: clientMsgId, body } }).then((f) => {
      if (f.body !== 'sent') throw new Error(`expected sent, got ${f.body}`);
      return f.sent;
    });
  }

  /** Fire-and-forget send: the ack comes through `onSent`-less path (load generators track by ref). */
  sendNoWait(toUser: number, body: Uint8Array, clientMsgId = this.newClientMsgId()): void {
    this.queue({ ref: 0, send: { to_user: toUser, client_msg_id: clientMsgId, body } });
  }

  /** Send to a group chat. */
  sendToChat(chatId: string, body: Uint8Array, clientMsgId = this.newClientMsgId()): Promise<SentAckBody> {
    return this.request({ send: { chat_id: chatId, client_msg_id: clientMsgId, body } }).then((f) => {
      if (f.body !== 'sent') throw new Error(`expected sent, got ${f.body}`);
      return f.sent;
    });
  }

  sendToChatNoWait(chatId: string, body: Uint8Array, clientMsgId = this.newClientMsgId()): void {
    this.queue({ ref: 0, send: { chat_id: chatId, client_msg_id: clientMsgId, body } });
  }

  createGroup(name: string, members: number[]): Promise<GroupInfoBody> {
    return this.request({ create_group: { name, members } }).then(expectGroupInfo);
  }

  /** kind: GroupChangeKind (ADD, REMOVE, PROMOTE, DEMOTE, LEAVE, RENAME). */
  changeGroup(chatId: string, kind: number, users: number[] = [], name = ''): Promise<GroupInfoBody> {
    return this.request({ group_change: { chat_id: chatId, kind, users, name } }).then(expectGroupInfo);
  }

  groupInfo(chatId: string): Promise<GroupInfoBody> {
    return this.request({ group_info: { chat_id: chatId } }).then(expectGroupInfo);
  }

  messageInfo(chatId: string, id: number): Promise<MessageInfoBody> {
    return this.request({ message_info: { chat_id: chatId, id } }).then((f) => {
      if (f.body !== 'message_info') throw new Error(`expected message_info, got ${f.body}`);
      return f.message_info;
    });
  }

  history(chatId: string, beforeId = 0, limit = 0): Promise<HistoryPageBody> {
    return this.request({ history: { chat_id: chatId, before_id: beforeId, limit } }).then((f) => {
      if (f.body !== 'history') throw new Error(`expected history, got ${f.body}`);
      return f.history;
    });
  }

  ping(): Promise<PongBody> {
    return this.request({ ping: { client_time_ms: Date.now() } }).then((f) => {
      if (f.body !== 'pong') throw new Error(`expected pong, got ${f.body}`);
      return f.pong;
    });
  }

  subscribePresence(userIds: number[]): void {
    this.queue({ ref: 0, presence_subscribe: { user_ids: userIds } });
  }

  /** Set who sees my online status and last seen (LastSeenPrivacy); resolves once the server has stored it. */
  setPrivacy(lastSeen: number): Promise<number> {
    return this.request({ set_privacy: { last_seen: lastSeen } }).then((f) => {
      if (f.body !== 'privacy') throw new Error(`expected a Privacy reply, got ${f.body}`);
      return f.privacy.last_seen;
    });
  }

  /** Explicit cumulative ack (tests; clients with ackDelayMs: null). */
  /** Upload one device's keys to the key directory (docs/design/021-e2ee.md); resolves with what it holds now. */
  uploadKeys(upload: Partial<KeysUploadBody>): Promise<KeysStoredBody> {
    return this.request({ keys_upload: upload }).then((f) => {
      if (f.body !== 'keys_stored') throw new Error(`expected keys_stored, got ${f.body}`);
      return f.keys_stored;
    });
  }

  /** Fetch a bundle per device of `user`, each with a one-time prekey no one else gets. */
  fetchKeys(user: number): Promise<KeyBundlesBody> {
    return this.request({ key_bundle_request: { user } }).then((f) => {
      if (f.body !== 'key_bundles') throw new Error(`expected key_bundles, got ${f.body}`);
      return f.key_bundles;
    });
  }

  ack(chatId: string, deliveredUpTo: number, readUpTo = 0): void {
    this.queue({ ref: 0, ack: { chat_id: chatId, delivered_up_to: deliveredUpTo, read_up_to: readUpTo } });
  }

  /** Stop reading from the socket: this client becomes a slow receiver (backpressure tests). */
  pauseReading(): void {
    this.transport.pause();
  }

  resumeReading(): void {
    this.transport.resume();
  }

  /** Send raw bytes as one WebSocket message (bad-input tests). */
  sendRaw(data: Uint8Array): void {
    this.transport.send(data);
  }

  close(code = 1000, reason = ''): void {
    if (!this.closed) this.transport.close(code, reason);
  }

  /** Resolves when the connection is closed (by either side). */
  closedPromise(): Promise<number> {
    if (this.closed) return Promise.resolve(this.closeCode);
    return new Promise((resolve) => {
      const prev = this.onClose;
      this.onClose = (code, reason) => {
        prev(code, reason);
        resolve(code);
      };
    });
  }

  private request(frame: ClientFrameInit): Promise<ServerFrame> {
    const ref = this.nextRef++;
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('connection closed'));
      const timeoutMs = this.opts.requestTimeoutMs ?? 10_000;
      const timer = setTimeout(() => {
        this.requests.delete(ref);
        reject(new Error(`no reply to ref ${ref} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.requests.set(ref, { resolve, reject, timer });
      this.queue({ ...frame, ref } as ClientFrameInit);
    });
  }

  /**
   * Queue an already encoded ClientFrame (the load generator hand-encodes its
   * sends): it leaves in this turn's batch with every other frame of the connection.
   */
  queueFrame(frame: Uint8Array): void {
    this.out.push(frame);
    if (!this.outQueued) {
      this.outQueued = true;
      dirtyClients.push(this);
    }
  }

  private queue(frame: ClientFrameInit): void {
    this.queueFrame(encodeClientFrame(frame));
  }

  /** Called once per turn by the shared batcher: this turn's frames as ClientBatches. */
  flushQueued(): void {
    this.outQueued = false;
    const frames = this.out;
    if (frames.length === 0) return;
    this.out = [];
    if (this.closed) return;
    // Split at the server's frame-count and (half its) byte limits.
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < frames.length; i++) {
      const size = frames[i]!.length + 6;
      if (i > start && (i - start === BATCH_FRAMES_MAX || bytes + size > BATCH_BYTES_MAX)) {
        this.transport.send(frameBatch(frames.slice(start, i)));
        start = i;
        bytes = 0;
      }
      bytes += size;
    }
    this.transport.send(frameBatch(start === 0 ? frames : frames.slice(start)));
  }

  private onData(data: Buffer): void {
    let frames: ServerFrame[];
    try {
      frames = decodeServerBatch(data);
    } catch (err) {
      this.onError({ ref: 0, code: 'CLIENT_DECODE', message: (err as Error).message });
      return;
    }
    for (const f of frames) this.dispatch(f);
  }

  private dispatch(f: ServerFrame): void {
    switch (f.body) {
      case 'message': {
        const m = f.message;
        if (this.isDuplicate(m.chat_id, m.seq)) {
          this.duplicates++;
          this.noteForAck(m.chat_id, m.id);
          break;
        }
        this.onMessage(m);
        this.noteForAck(m.chat_id, m.id);
        break;
      }
      case 'sent':
        this.settle(f.sent.ref, f);
        break;
      case 'history':
        this.settle(f.history.ref, f);
        break;
      case 'pong':
        this.settle(f.pong.ref, f);
        break;
      case 'group_info':
        this.settle(f.group_info.ref, f);
        break;
      case 'message_info':
        this.settle(f.message_info.ref, f);
        break;
      case 'privacy':
        this.settle(f.privacy.ref, f);
        break;
      case 'keys_stored':
        this.settle(f.keys_stored.ref, f);
        break;
      case 'key_bundles':
        this.settle(f.key_bundles.ref, f);
        break;
      case 'error': {
        const r = f.error.ref ? this.requests.get(f.error.ref) : undefined;
        if (r) {
          this.requests.delete(f.error.ref);
          clearTimeout(r.timer);
          r.reject(new ServerError(f.error.code, f.error.message));
        }
        this.onError(f.error);
        break;
      }
      case 'receipt':
        this.onReceipt(f.receipt);
        break;
      case 'presence':
        this.onPresence(f.presence);
        break;
      case 'drain_done':
        this.onDrainDone(f.drain_done);
        break;
    }
    this.onFrame(f);
  }

  private settle(ref: number, f: ServerFrame): void {
    const r = this.requests.get(ref);
    if (!r) return;
    this.requests.delete(ref);
    clearTimeout(r.timer);
    r.resolve(f);
  }

  private isDuplicate(chatId: string, seq: number): boolean {
    let s = this.seen.get(chatId);
    if (!s) this.seen.set(chatId, (s = { prefix: 0, above: new Set() }));
    if (seq <= s.prefix || s.above.has(seq)) return true;
    if (seq === s.prefix + 1) {
      s.prefix = seq;
      while (s.above.delete(s.prefix + 1)) s.prefix++;
    } else {
      s.above.add(seq);
    }
    return false;
  }

  private noteForAck(chatId: string, id: number): void {
    const delay = this.opts.ackDelayMs === undefined ? 5 : this.opts.ackDelayMs;
    if (delay === null) return;
    const prev = this.toAck.get(chatId) ?? 0;
    if (id > prev) this.toAck.set(chatId, id);
    if (!this.ackScheduled) {
      this.ackScheduled = true;
      ackClock.schedule(this, delay);
    }
  }

  /** The ack clock's call: one cumulative Ack per chat with deliveries since the last one. */
  flushAcks(): void {
    this.ackScheduled = false;
    if (this.closed) return;
    for (const [chatId, id] of this.toAck) {
      this.queue({ ref: 0, ack: { chat_id: chatId, delivered_up_to: id, read_up_to: this.opts.autoRead ? id : 0 } });
    }
    this.toAck.clear();
  }
}

function expectGroupInfo(f: ServerFrame): GroupInfoBody {
  if (f.body !== 'group_info') throw new Error(`expected group_info, got ${f.body}`);
  return f.group_info;
}
