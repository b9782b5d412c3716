// The real system through the ChatClient (real protocol: minted tokens,
// coalesced cumulative acks, de-duplication by (chat, seq)). Sends bypass
// ChatClient.send(): each would cost a Promise and a timer; here a send is a
// hand-encoded ClientFrame with our own `ref` (the server echoes it on the
// `sent` ack or the error), queued on the ChatClient with its acks and reads,
// so the connection writes ONE ClientBatch per event-loop turn for all of them.
//
// Per message sent: one ~40-byte header encode + body copy into a frame, one
// copy into the turn's batch; per reply: ChatClient's protobuf decode, one
// switch. The server's rate limit is per connection (2000 frames/s by
// default): scenarios spread senders so that no user comes near it.
import { ChatClient } from '../client/chat-client';
import type { TlsClientOptions, TransportKind } from '../client/transport';
import { UserDirectory, type Identities } from '../identity/identities';
import type { MetricsRegistry } from '../metrics/registry';
import { blockOf, explainConnectError, SEND_REFS_END, type ConnectionEvents, type E2eeWarmStats, type E2eeWarmWork, type LoadConnection, type LoadDriver, type MediaAccess } from './connection';
import { warmUpE2ee } from './e2ee-warmup';
import { CryptoLane } from './e2ee-lane';
import { E2eeUser, SealError } from './system-e2ee';
import { PrekeyLedger } from './prekey-ledger';
import { SystemMediaAccess } from './system-media';

/** TCP connect + upgrade; generous, because a setup storm of tens of thousands of connects queues at the gateways. */
const CONNECT_TIMEOUT_MS = 30_000;

export interface SystemLoadDriverOptions {
  urls: string[];
  identities: Identities;
  transport: TransportKind;
  tls?: TlsClientOptions;
  ackDelayMs: number;
  /** Users of the whole run (all shards), to spread them evenly over the gateways. */
  totalUsers: number;
  /** traffic.e2ee: encrypt 1:1 bodies end to end (./system-e2ee.ts), counting into these metrics; else null. */
  e2ee?: MetricsRegistry | null;
}

export class SystemLoadDriver implements LoadDriver {
  readonly name = 'system';
  readonly acks = true;
  readonly media: MediaAccess;

  private readonly users: UserDirectory;
  /** traffic.e2ee: each user's device, by global index (kept across its connections). */
  private readonly devices = new Map<number, E2eeUser>();
  /** traffic.e2ee: every one-time prekey this thread's users were handed, to see one handed out twice. */
  private readonly ledger: PrekeyLedger | null;
  /** traffic.e2ee: this worker thread's libsignal operations, one at a time (./e2ee-lane.ts). */
  private readonly lane = new CryptoLane();

  constructor(private readonly o: SystemLoadDriverOptions) {
    this.users = new UserDirectory(o.identities);
    this.media = new SystemMediaAccess(o.urls, o.totalUsers, this.users);
    this.ledger = o.e2ee ? new PrekeyLedger(o.e2ee) : null;
  }

  userId(globalIndex: number): number {
    return this.users.idOf(globalIndex);
  }

  async connect(globalIndex: number, ev: ConnectionEvents, localAddress: string | undefined): Promise<LoadConnection> {
    const url = this.o.urls[blockOf(globalIndex, this.o.totalUsers, this.o.urls.length)]!;
    let client: ChatClient;
    try {
      client = await ChatClient.connect({
        url, kind: this.o.transport, localAddress, tls: this.o.tls,
        token: this.users.tokenOf(globalIndex),
        ackDelayMs: this.o.ackDelayMs, autoRead: false, connectTimeoutMs: CONNECT_TIMEOUT_MS, firstRef: SEND_REFS_END,
      });
    } catch (err) {
      throw explainConnectError(err, url);
    }
    const device = this.o.e2ee ? this.deviceOf(globalIndex, this.o.e2ee) : null;
    // The connection takes the client's events from here on: what comes during the key upload (the
    // DrainDone the world's setup waits for, deliveries) must not be lost. Before, setup waited out
    // its 30 s drain timeout for every e2ee user and connected it a second time.
    const conn = new SystemConnection(client, ev, this.users, device);
    if (device) {
      try {
        await device.register(client);
      } catch (err) {
        client.close();
        throw new Error(`e2ee: key upload for user ${device.user} failed: ${(err as Error).message}`);
      }
    }
    return conn;
  }

  /** traffic.e2ee: the libsignal operation running finishes; the ones queued behind it do not start (the run is over). */
  settle(maxMs: number): Promise<boolean> {
    this.lane.close();
    return this.lane.idle(maxMs);
  }

  /** traffic.e2ee: sessions and sender keys before the measured window (./e2ee-warmup.ts). */
  warmUpE2ee(work: E2eeWarmWork, connectionOf: (globalIndex: number) => LoadConnection | null, log: (line: string) => void): Promise<E2eeWarmStats> {
    const metrics = this.o.e2ee;
    if (!metrics) return Promise.reject(new Error('e2ee warm-up without traffic.e2ee'));
    return warmUpE2ee(work, {
      userOf: (gi) => this.deviceOf(gi, metrics),
      chatOf: (gi) => {
        const c = connectionOf(gi);
        return c instanceof SystemConnection && !c.client.closed ? c.client : null;
      },
    }, log);
  }

  private deviceOf(globalIndex: number, metrics: MetricsRegistry): E2eeUser {
    let d = this.devices.get(globalIndex);
    if (!d) {
      this.devices.set(globalIndex, (d = new E2eeUser(this.users.idOf(globalIndex), metrics, this.lane)));
      const ledger = this.ledger!;
      d.onFetched = (bundles) => ledger.fetched(bundles);
    }
    return d;
  }
}

class SystemConnection implements LoadConnection {
  private readonly memberIdsOf = new WeakMap<readonly number[], readonly number[]>();

  constructor(
    readonly client: ChatClient,
    private readonly ev: ConnectionEvents,
    private readonly users: UserDirectory,
    private readonly e2ee: E2eeUser | null,
  ) {
    // Group system events (created, member added, ...) carry no load payload; ChatClient still acks them.
    client.onMessage = (m) => {
      if (m.system) return;
      if (!e2ee) return ev.onDeliver(m.body, m.replay, m.chat_id, m.id);
      // The body is a view of the received frame: copied, since opening waits for earlier ones.
      // null: a sender key (a group's key, inside a 1:1 envelope), taken in; not a message of the world's.
      e2ee.open(m.from_user, m.chat_id, m.id, Buffer.from(m.body)).then(
        (plain) => plain !== null && ev.onDeliver(plain, m.replay, m.chat_id, m.id),
        (err: unknown) => ev.onUndecryptable(err instanceof SealError ? err.reason : 'decrypt_failed'),
      );
    };
    client.onReceipt = (r) => ev.onReceipt(r.chat_id, r.kind, r.up_to_id);
    client.onDrainDone = (d) => ev.onDrainDone(d.messages);
    client.onClose = (code, reason) => ev.onClose(code, reason);
    // A refusal of one of the connection's own requests (a key fetch, a group creation: refs from SEND_REFS_END
    // up) rejects that request's promise, which handles it (a refused fetch fails its seal with the reason).
    client.onError = (e) => {
      if (e.ref >= SEND_REFS_END) return;
      if (e.ref > 0) ev.onRejected(e.ref, e.code);
      else ev.onError(e.code);
    };
    client.onFrame = (f) => {
      if (f.body === 'sent' && f.sent.ref > 0) ev.onSent(f.sent.ref, f.sent.id, f.sent.chat_id);
      else if (f.body === 'prekeys_low') e2ee?.refill(client, f.prekeys_low.device_id);
    };
  }

  sendMessage(toIndex: number, body: Uint8Array, ref: number, clientMsgId: string): void {
    const to = this.users.idOf(toIndex);
    if (!this.e2ee) return this.push(encodeSendFrame(ref, to, clientMsgId, body));
    // The world reuses `body` for its next send: sealed from a copy. Seals to one peer resolve in the order made.
    this.e2ee.seal(this.client, to, Buffer.from(body)).then(
      (sealed) => this.push(encodeSendFrame(ref, to, clientMsgId, sealed)),
      (err: unknown) => !this.client.closed && this.ev.onRejected(ref, err instanceof SealError ? err.reason : 'e2ee_encrypt_failed'),
    );
  }

  sendGroupMessage(chatId: string, body: Uint8Array, ref: number, clientMsgId: string, memberIndexes: readonly number[]): void {
    if (!this.e2ee) return this.push(encodeGroupSendFrame(ref, chatId, clientMsgId, body));
    // Members without this sender's key get it first, as 1:1 sends with no ref (the world does not count them).
    this.e2ee.sealGroup(this.client, chatId, this.memberIds(memberIndexes), Buffer.from(body), this.sendDistribution).then(
      (sealed) => this.push(encodeGroupSendFrame(ref, chatId, clientMsgId, sealed)),
      (err: unknown) => !this.client.closed && this.ev.onRejected(ref, err instanceof SealError ? err.reason : 'e2ee_encrypt_failed'),
    );
  }

  private readonly sendDistribution = (peer: number, sealed: Uint8Array, clientMsgId: string): void =>
    this.push(encodeSendFrame(0, peer, clientMsgId, sealed));

  /** A group's member user ids, one array per member list the world passes (it passes the same one each time). */
  private memberIds(indexes: readonly number[]): readonly number[] {
    let ids = this.memberIdsOf.get(indexes);
    if (!ids) this.memberIdsOf.set(indexes, (ids = indexes.map((i) => this.users.idOf(i))));
    return ids;
  }

  createGroup(name: string, memberIndexes: number[]): Promise<string> {
    return this.client.createGroup(name, memberIndexes.map((i) => this.users.idOf(i))).then((g) => g.chat_id);
  }

  markRead(chatId: string, upToId: number): void {
    this.client.ack(chatId, upToId, upToId);
  }

  close(): void {
    this.client.close();
  }

  private push(frame: Uint8Array): void {
    if (!this.client.closed) this.client.queueFrame(frame);
  }
}

// ---------------------------------------------------------------- ClientFrame{ref, send{to_user, client_msg_id, body}}
// Field tags (proto/client.proto): ClientFrame.ref = 1 (varint), .send = 2 (message);
// Send.to_user = 1 (varint), .client_msg_id = 2 (string), .body = 3 (bytes).
// Pinned against protobufjs's encoding by test/loadgen-units.test.ts.

export function encodeSendFrame(ref: number, toUser: number, clientMsgId: string, body: Uint8Array): Buffer {
  const cmidBytes = Buffer.byteLength(clientMsgId);
  const sendLen = 1 + varintSize(toUser) + 1 + varintSize(cmidBytes) + cmidBytes + 1 + varintSize(body.length) + body.length;
  const out = Buffer.allocUnsafe((ref > 0 ? 1 + varintSize(ref) : 0) + 1 + varintSize(sendLen) + sendLen);
  let at = writeSendPrefix(out, ref, sendLen);
  out[at++] = 0x08;
  at = writeVarint(out, at, toUser);
  writeIdAndBody(out, at, clientMsgId, cmidBytes, body);
  return out;
}

// ClientFrame{ref, send{client_msg_id = 2, body = 3, chat_id = 4}}: a group send names the chat, not a user.
export function encodeGroupSendFrame(ref: number, chatId: string, clientMsgId: string, body: Uint8Array): Buffer {
  const chatBytes = Buffer.byteLength(chatId);
  const cmidBytes = Buffer.byteLength(clientMsgId);
  const sendLen = 1 + varintSize(cmidBytes) + cmidBytes + 1 + varintSize(body.length) + body.length + 1 + varintSize(chatBytes) + chatBytes;
  const out = Buffer.allocUnsafe((ref > 0 ? 1 + varintSize(ref) : 0) + 1 + varintSize(sendLen) + sendLen);
  let at = writeSendPrefix(out, ref, sendLen);
  at = writeIdAndBody(out, at, clientMsgId, cmidBytes, body);
  out[at++] = 0x22;
  at = writeVarint(out, at, chatBytes);
  out.write(chatId, at, 'latin1');
  return out;
}

/** ClientFrame.ref (when > 0) and the tag and length of ClientFrame.send; returns where Send's fields start. */
function writeSendPrefix(out: Buffer, ref: number, sendLen: number): number {
  let at = 0;
  if (ref > 0) {
    out[at++] = 0x08;
    at = writeVarint(out, at, ref);
  }
  out[at++] = 0x12;
  return writeVarint(out, at, sendLen);
}

/** Send.client_msg_id (2) and Send.body (3); returns the offset after the body. */
function writeIdAndBody(out: Buffer, at: number, clientMsgId: string, cmidBytes: number, body: Uint8Array): number {
  out[at++] = 0x12;
  at = writeVarint(out, at, cmidBytes);
  at += out.write(clientMsgId, at, 'latin1');
  out[at++] = 0x1a;
  at = writeVarint(out, at, body.length);
  out.set(body, at);
  return at + body.length;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(out: Buffer, at: number, n: number): number {
  while (n >= 128) {
    out[at++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}
