// Hand codecs for the three server frames of every message: ServerFrame{sent},
// {message} (with its SystemEvent, if any) and {receipt}
// (docs/design/024-hand-codecs.md). Encoding is byte for byte protobufjs
// 7.6's; decoding (the load generator's client) accepts, refuses and fills
// defaults as its decoder does (test/hand-codecs-server.test.ts pins both).
//
// Dispatch is explicit, as for client frames: encodeServerFrameHand takes a
// frame whose one body is sent, message or receipt (isHotServerFrame), and
// decodeHotServerFrame answers OTHER_BODY for a frame with any other body
// field or two different ones; the caller gives those to protobufjs.
//
// Per encoded frame: one size pass, one Buffer.allocUnsafe, one write pass.
import type { MessageBody, ReceiptBody, SentAckBody, ServerFrame, ServerFrameInit, SystemEventBody } from '../protocol-types';
import { delimited, int32Size, uint64Size, varint32Size, writeBytes, writeInt32, writeString, writeUint64, writeVarint32 } from './wire-writer';

type Strings = number[];
type Sized<T> = (m: T, strings: Strings) => number;
type Writer<T> = (out: Buffer, at: number, m: T, strings: Strings, k: { i: number }) => number;

const sentSize: Sized<SentAckBody> = (m, s) =>
  (m.ref != null ? 1 + varint32Size(m.ref >>> 0) : 0) + (m.client_msg_id != null ? 1 + delimited(s, m.client_msg_id) : 0) +
  (m.id != null ? 1 + uint64Size(m.id) : 0) + (m.chat_id != null ? 1 + delimited(s, m.chat_id) : 0) +
  (m.seq != null ? 1 + uint64Size(m.seq) : 0) + (m.server_time_ms != null ? 1 + uint64Size(m.server_time_ms) : 0);

const writeSent: Writer<SentAckBody> = (out, at, m, s, k) => {
  if (m.ref != null) { out[at++] = 0x08; at = writeVarint32(out, at, m.ref >>> 0); }
  if (m.client_msg_id != null) { out[at++] = 0x12; at = writeString(out, at, m.client_msg_id, s[k.i++]!); }
  if (m.id != null) { out[at++] = 0x18; at = writeUint64(out, at, m.id); }
  if (m.chat_id != null) { out[at++] = 0x22; at = writeString(out, at, m.chat_id, s[k.i++]!); }
  if (m.seq != null) { out[at++] = 0x28; at = writeUint64(out, at, m.seq); }
  if (m.server_time_ms != null) { out[at++] = 0x30; at = writeUint64(out, at, m.server_time_ms); }
  return at;
};

/** A packed repeated uint64's payload size (protobufjs writes the field only when the list is non-empty). */
function packedUint64Size(list: readonly number[]): number {
  let n = 0;
  for (const v of list) n += uint64Size(v);
  return n;
}

function systemSize(e: SystemEventBody, s: Strings): number {
  let n = (e.kind != null ? 1 + int32Size(e.kind) : 0) + (e.actor != null ? 1 + uint64Size(e.actor) : 0);
  if (e.users != null && e.users.length) {
    const p = packedUint64Size(e.users);
    s.push(p);
    n += 1 + varint32Size(p) + p;
  }
  if (e.name != null) n += 1 + delimited(s, e.name);
  return n;
}

const writeSystem: Writer<SystemEventBody> = (out, at, e, s, k) => {
  if (e.kind != null) { out[at++] = 0x08; at = writeInt32(out, at, e.kind); }
  if (e.actor != null) { out[at++] = 0x10; at = writeUint64(out, at, e.actor); }
  if (e.users != null && e.users.length) {
    out[at++] = 0x1a;
    at = writeVarint32(out, at, s[k.i++]!);
    for (const u of e.users) at = writeUint64(out, at, u);
  }
  if (e.name != null) { out[at++] = 0x22; at = writeString(out, at, e.name, s[k.i++]!); }
  return at;
};

function messageSize(m: MessageBody, s: Strings): number {
  let n = (m.id != null ? 1 + uint64Size(m.id) : 0) + (m.chat_id != null ? 1 + delimited(s, m.chat_id) : 0) +
    (m.seq != null ? 1 + uint64Size(m.seq) : 0) + (m.from_user != null ? 1 + uint64Size(m.from_user) : 0) +
    (m.client_msg_id != null ? 1 + delimited(s, m.client_msg_id) : 0) +
    (m.body != null ? 1 + varint32Size(m.body.length) + m.body.length : 0) +
    (m.sent_at_ms != null ? 1 + uint64Size(m.sent_at_ms) : 0) + (m.replay != null ? 2 : 0);
  if (m.system != null) {
    const at = s.length;
    s.push(0);
    const e = systemSize(m.system, s);
    s[at] = e;
    n += 1 + varint32Size(e) + e;
  }
  return n;
}

const writeMessage: Writer<MessageBody> = (out, at, m, s, k) => {
  if (m.id != null) { out[at++] = 0x08; at = writeUint64(out, at, m.id); }
  if (m.chat_id != null) { out[at++] = 0x12; at = writeString(out, at, m.chat_id, s[k.i++]!); }
  if (m.seq != null) { out[at++] = 0x18; at = writeUint64(out, at, m.seq); }
  if (m.from_user != null) { out[at++] = 0x20; at = writeUint64(out, at, m.from_user); }
  if (m.client_msg_id != null) { out[at++] = 0x2a; at = writeString(out, at, m.client_msg_id, s[k.i++]!); }
  if (m.body != null) { out[at++] = 0x32; at = writeBytes(out, at, m.body); }
  if (m.sent_at_ms != null) { out[at++] = 0x38; at = writeUint64(out, at, m.sent_at_ms); }
  if (m.replay != null) { out[at++] = 0x40; out[at++] = m.replay ? 1 : 0; }
  if (m.system != null) {
    out[at++] = 0x4a;
    at = writeVarint32(out, at, s[k.i++]!);
    at = writeSystem(out, at, m.system, s, k);
  }
  return at;
};

const receiptSize: Sized<ReceiptBody> = (m, s) =>
  (m.chat_id != null ? 1 + delimited(s, m.chat_id) : 0) + (m.user != null ? 1 + uint64Size(m.user) : 0) +
  (m.kind != null ? 1 + int32Size(m.kind) : 0) + (m.up_to_id != null ? 1 + uint64Size(m.up_to_id) : 0);

const writeReceipt: Writer<ReceiptBody> = (out, at, m, s, k) => {
  if (m.chat_id != null) { out[at++] = 0x0a; at = writeString(out, at, m.chat_id, s[k.i++]!); }
  if (m.user != null) { out[at++] = 0x10; at = writeUint64(out, at, m.user); }
  if (m.kind != null) { out[at++] = 0x18; at = writeInt32(out, at, m.kind); }
  if (m.up_to_id != null) { out[at++] = 0x20; at = writeUint64(out, at, m.up_to_id); }
  return at;
};

/** Whether encodeServerFrameHand encodes `frame`: its one body is sent, message or receipt. */
export function isHotServerFrame(frame: ServerFrameInit): boolean {
  const f = frame as { sent?: unknown; message?: unknown; receipt?: unknown };
  return f.sent != null || f.message != null || f.receipt != null;
}

function encodeBody<T>(tag: number, body: T, size: Sized<T>, write: Writer<T>): Buffer {
  const strings: Strings = [];
  const n = size(body, strings);
  const out = Buffer.allocUnsafe(1 + varint32Size(n) + n);
  out[0] = tag;
  write(out, writeVarint32(out, 1, n), body, strings, { i: 0 });
  return out;
}

/** A ServerFrame{sent | message | receipt} (see isHotServerFrame), as protobufjs encodes it. */
export function encodeServerFrameHand(frame: ServerFrameInit): Buffer {
  const f = frame as { sent?: SentAckBody; message?: MessageBody; receipt?: ReceiptBody };
  if (f.sent != null) return encodeBody(0x0a, f.sent, sentSize, writeSent);
  if (f.message != null) return encodeBody(0x12, f.message, messageSize, writeMessage);
  return encodeBody(0x1a, f.receipt!, receiptSize, writeReceipt);
}
