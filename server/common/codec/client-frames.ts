// Hand codecs for the two client frames of every message: ClientFrame{send}
// and ClientFrame{ack} (docs/design/024-hand-codecs.md). Byte for byte what
// protobufjs 7.6 writes, and the same accept/refuse outcome and field values
// as its decoder (test/hand-codecs-client.test.ts pins both).
//
// Dispatch is explicit: decodeSendOrAck answers OTHER_BODY for a frame whose
// body fields are anything but send alone or ack alone (another body type, or
// send and ack in one frame), and the caller hands that frame to protobufjs.
// That is decided by the field numbers seen, never by an error.
//
// Per frame: no Reader or Message objects, two plain objects, one string per
// string field and a view for the body.
import { ErrorCode, ProtocolError } from '../errors';
import type { AckBody, ClientFrame, ClientFrameInit, SendBody } from '../protocol-types';
import { WireReader } from './wire-reader';
import { delimited, uint64Size, varint32Size, writeBytes, writeString, writeUint64, writeVarint32 } from './wire-writer';

/** decodeSendOrAck's answer for a frame the hand codec does not decode (protobufjs does). */
export const OTHER_BODY = null;

const FIELD_REF = 1;
const FIELD_SEND = 2;
const FIELD_ACK = 3;
/** ClientFrame's last body field (key_bundle_request): 4..13 are bodies protobufjs decodes. */
const FIELD_BODY_LAST = 13;

/**
 * An absent Send.body: an empty Buffer, where protobufjs gives a frozen empty ARRAY. The one value in which
 * this decoder departs from protobufjs, on purpose: the store bound that array as a parameter list and the
 * whole tick's commit failed (every send of the tick answered UNAVAILABLE), and proto3 encoders omit an
 * empty body, so any client could cause it. Zero-length, so sharing it is safe.
 */
export const ABSENT_SEND_BODY: Uint8Array = Buffer.alloc(0);

function decodeSend(r: WireReader, length: number): SendBody {
  const outer = r.enter(length);
  const s: SendBody = { to_user: 0, client_msg_id: '', body: ABSENT_SEND_BODY, chat_id: '' };
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1: s.to_user = r.uint64(); break;
      case 2: s.client_msg_id = r.string(); break;
      case 3: s.body = r.bytes(); break;
      case 4: s.chat_id = r.string(); break;
      default: r.skipType(t & 7, 1);
    }
  }
  r.leave(outer);
  return s;
}

function decodeAck(r: WireReader, length: number): AckBody {
  const outer = r.enter(length);
  const a: AckBody = { chat_id: '', delivered_up_to: 0, read_up_to: 0 };
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1: a.chat_id = r.string(); break;
      case 2: a.delivered_up_to = r.uint64(); break;
      case 3: a.read_up_to = r.uint64(); break;
      default: r.skipType(t & 7, 1);
    }
  }
  r.leave(outer);
  return a;
}

/**
 * A ClientFrame whose body is send or ack, decoded; OTHER_BODY for any other frame.
 * Throws ProtocolError: MALFORMED_FRAME where protobufjs's decoder throws, UNKNOWN_TYPE for no body.
 */
export function decodeSendOrAck(bytes: Uint8Array): ClientFrame | typeof OTHER_BODY {
  const r = new WireReader(bytes);
  let ref = 0;
  let send: SendBody | null = null;
  let ack: AckBody | null = null;
  while (r.pos < r.len) {
    const t = r.uint32();
    const field = t >>> 3;
    if (field === FIELD_REF) ref = r.uint32();
    else if (field === FIELD_SEND) {
      if (ack) return OTHER_BODY;
      send = decodeSend(r, r.uint32());
    } else if (field === FIELD_ACK) {
      if (send) return OTHER_BODY;
      ack = decodeAck(r, r.uint32());
    } else if (field > FIELD_ACK && field <= FIELD_BODY_LAST) return OTHER_BODY;
    else r.skipType(t & 7, 0);
  }
  if (send) return { ref, body: 'send', send };
  if (ack) return { ref, body: 'ack', ack };
  throw new ProtocolError(ErrorCode.UNKNOWN_TYPE, 'frame has no known body type');
}

// ---- Encoding: fields in number order, every field that is not null/undefined (protobufjs writes defaults too) ----

type SendInit = Partial<SendBody>;
type AckInit = Partial<AckBody>;

function sendSize(s: SendInit, strings: number[]): number {
  let n = 0;
  if (s.to_user != null) n += 1 + uint64Size(s.to_user);
  if (s.client_msg_id != null) n += 1 + delimited(strings, s.client_msg_id);
  if (s.body != null) n += 1 + varint32Size(s.body.length) + s.body.length;
  if (s.chat_id != null) n += 1 + delimited(strings, s.chat_id);
  return n;
}

function writeSend(out: Buffer, at: number, s: SendInit, strings: number[], k: number): number {
  if (s.to_user != null) { out[at++] = 0x08; at = writeUint64(out, at, s.to_user); }
  if (s.client_msg_id != null) { out[at++] = 0x12; at = writeString(out, at, s.client_msg_id, strings[k++]!); }
  if (s.body != null) { out[at++] = 0x1a; at = writeBytes(out, at, s.body); }
  if (s.chat_id != null) { out[at++] = 0x22; at = writeString(out, at, s.chat_id, strings[k++]!); }
  return at;
}

function ackSize(a: AckInit, strings: number[]): number {
  let n = 0;
  if (a.chat_id != null) n += 1 + delimited(strings, a.chat_id);
  if (a.delivered_up_to != null) n += 1 + uint64Size(a.delivered_up_to);
  if (a.read_up_to != null) n += 1 + uint64Size(a.read_up_to);
  return n;
}

function writeAck(out: Buffer, at: number, a: AckInit, strings: number[], k: number): number {
  if (a.chat_id != null) { out[at++] = 0x0a; at = writeString(out, at, a.chat_id, strings[k++]!); }
  if (a.delivered_up_to != null) { out[at++] = 0x10; at = writeUint64(out, at, a.delivered_up_to); }
  if (a.read_up_to != null) { out[at++] = 0x18; at = writeUint64(out, at, a.read_up_to); }
  return at;
}

/** Whether encodeSendOrAck encodes `frame` (its one body is send or ack). */
export function isSendOrAck(frame: ClientFrameInit): boolean {
  return (frame as { send?: unknown }).send != null || (frame as { ack?: unknown }).ack != null;
}

/** A ClientFrame{send} or ClientFrame{ack} (see isSendOrAck), as protobufjs encodes it. */
export function encodeSendOrAck(frame: ClientFrameInit): Buffer {
  const strings: number[] = [];
  const send = (frame as { send?: SendInit }).send;
  const body = send ?? (frame as { ack: AckInit }).ack;
  const bodySize = send ? sendSize(send, strings) : ackSize(body as AckInit, strings);
  const ref = frame.ref;
  const size = (ref != null ? 1 + varint32Size(ref >>> 0) : 0) + 1 + varint32Size(bodySize) + bodySize;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  if (ref != null) { out[at++] = 0x08; at = writeVarint32(out, at, ref >>> 0); }
  out[at++] = send ? 0x12 : 0x1a;
  at = writeVarint32(out, at, bodySize);
  at = send ? writeSend(out, at, send, strings, 0) : writeAck(out, at, body as AckInit, strings, 0);
  return out;
}
