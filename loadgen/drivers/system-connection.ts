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
import { encodeClientFrame } from '../../server/common/protocol';
import type { TlsClientOptions, TransportKind } from '../client/transport';
import { UserDirectory, type Identities } from '../identity/identities';
import { blockOf, explainConnectError, type ConnectionEvents, type LoadConnection, type LoadDriver, type MediaAccess } from './connection';
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
}

export class SystemLoadDriver implements LoadDriver {
  readonly name = 'system';
  readonly acks = true;
  readonly media: MediaAccess;

  private readonly users: UserDirectory;

  constructor(private readonly o: SystemLoadDriverOptions) {
    this.users = new UserDirectory(o.identities);
    this.media = new SystemMediaAccess(o.urls, o.totalUsers, this.users);
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
        ackDelayMs: this.o.ackDelayMs, autoRead: false, connectTimeoutMs: CONNECT_TIMEOUT_MS,
      });
    } catch (err) {
      throw explainConnectError(err, url);
    }
    return new SystemConnection(client, ev, this.users);
  }
}

class SystemConnection implements LoadConnection {
  constructor(private readonly client: ChatClient, ev: ConnectionEvents, private readonly users: UserDirectory) {
    // Group system events (created, member added, ...) carry no load payload; ChatClient still acks them.
    client.onMessage = (m) => {
      if (!m.system) ev.onDeliver(m.body, m.replay, m.chat_id, m.id);
    };
    client.onReceipt = (r) => ev.onReceipt(r.chat_id, r.kind, r.up_to_id);
    client.onDrainDone = (d) => ev.onDrainDone(d.messages);
    client.onClose = (code, reason) => ev.onClose(code, reason);
    client.onError = (e) => (e.ref > 0 ? ev.onRejected(e.ref, e.code) : ev.onError(e.code));
    client.onFrame = (f) => {
      if (f.body === 'sent' && f.sent.ref > 0) ev.onSent(f.sent.ref, f.sent.id, f.sent.chat_id);
    };
  }

  sendMessage(toIndex: number, body: Uint8Array, ref: number, clientMsgId: string): void {
    this.push(encodeSendFrame(ref, this.users.idOf(toIndex), clientMsgId, body));
  }

  sendGroupMessage(chatId: string, body: Uint8Array, ref: number, clientMsgId: string): void {
    this.push(encodeGroupSendFrame(ref, chatId, clientMsgId, body));
  }

  createGroup(name: string, memberIndexes: number[]): Promise<string> {
    return this.client.createGroup(name, memberIndexes.map((i) => this.users.idOf(i))).then((g) => g.chat_id);
  }

  markRead(chatId: string, upToId: number): void {
    this.client.ack(chatId, upToId, upToId);
  }

  heartbeat(): void {
    this.push(encodeClientFrame({ ref: 0, ping: { client_time_ms: Date.now() } }));
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
