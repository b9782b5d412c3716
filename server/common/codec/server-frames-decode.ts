// Hand decoding of the three server frames a client receives per message:
// ServerFrame{sent}, {message} (with its SystemEvent, if any), {receipt}
// (docs/design/024-hand-codecs.md). The load generator's client decodes every
// frame it receives; these three are nearly all of them. The objects carry
// every field, with protobufjs's defaults where the field is absent, and the
// bytes that protobufjs refuses are refused (test/hand-codecs-server.test.ts).
//
// Dispatch: OTHER_BODY for a frame with any other body field (4..14) or with
// two different hot bodies; the caller gives those to protobufjs.
import type { MessageBody, ReceiptBody, SentAckBody, ServerFrame, SystemEventBody } from '../protocol-types';
import { EMPTY_BYTES_DEFAULT, WireReader } from './wire-reader';

export const OTHER_BODY = null;

/** ServerFrame's last body field (prekeys_low). */
const FIELD_BODY_LAST = 14;

function decodeSent(r: WireReader, length: number): SentAckBody {
  const outer = r.enter(length);
  const m: SentAckBody = { ref: 0, client_msg_id: '', id: 0, chat_id: '', seq: 0, server_time_ms: 0 };
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1: m.ref = r.uint32(); break;
      case 2: m.client_msg_id = r.string(); break;
      case 3: m.id = r.uint64(); break;
      case 4: m.chat_id = r.string(); break;
      case 5: m.seq = r.uint64(); break;
      case 6: m.server_time_ms = r.uint64(); break;
      default: r.skipType(t & 7, 1);
    }
  }
  r.leave(outer);
  return m;
}

/** A repeated uint64, packed or not, as protobufjs's generated decoder reads it. */
function readUint64s(r: WireReader, t: number, into: number[]): void {
  if ((t & 7) !== 2) {
    into.push(r.uint64());
    return;
  }
  const outer = r.enter(r.uint32());
  while (r.pos < r.len) into.push(r.uint64());
  r.leave(outer);
}

function decodeSystem(r: WireReader, length: number): SystemEventBody {
  const outer = r.enter(length);
  const e: SystemEventBody = { kind: 0, actor: 0, users: [], name: '' };
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1: e.kind = r.int32(); break;
      case 2: e.actor = r.uint64(); break;
      case 3: readUint64s(r, t, e.users); break;
      case 4: e.name = r.string(); break;
      default: r.skipType(t & 7, 2);
    }
  }
  r.leave(outer);
  return e;
}

function decodeMessage(r: WireReader, length: number): MessageBody {
  const outer = r.enter(length);
  const m: MessageBody = {
    id: 0, chat_id: '', seq: 0, from_user: 0, client_msg_id: '', body: EMPTY_BYTES_DEFAULT, sent_at_ms: 0, replay: false, system: null,
  };
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1: m.id = r.uint64(); break;
      case 2: m.chat_id = r.string(); break;
      case 3: m.seq = r.uint64(); break;
      case 4: m.from_user = r.uint64(); break;
      case 5: m.client_msg_id = r.string(); break;
      case 6: m.body = r.bytes(); break;
      case 7: m.sent_at_ms = r.uint64(); break;
      case 8: m.replay = r.bool(); break;
      case 9: m.system = decodeSystem(r, r.uint32()); break;
      default: r.skipType(t & 7, 1);
    }
  }
  r.leave(outer);
  return m;
}

function decodeReceipt(r: WireReader, length: number): ReceiptBody {
  const outer = r.enter(length);
  const m: ReceiptBody = { chat_id: '', user: 0, kind: 0, up_to_id: 0 };
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1: m.chat_id = r.string(); break;
      case 2: m.user = r.uint64(); break;
      case 3: m.kind = r.int32(); break;
      case 4: m.up_to_id = r.uint64(); break;
      default: r.skipType(t & 7, 1);
    }
  }
  r.leave(outer);
  return m;
}

/**
 * A ServerFrame whose body is sent, message or receipt, decoded; OTHER_BODY for any other frame.
 * Throws ProtocolError(MALFORMED_FRAME) where protobufjs's decoder throws; a frame with no body at all
 * decodes to `{ body: undefined }`, as protobufjs's does.
 */
export function decodeHotServerFrame(bytes: Uint8Array): ServerFrame | typeof OTHER_BODY {
  const r = new WireReader(bytes);
  let sent: SentAckBody | null = null;
  let message: MessageBody | null = null;
  let receipt: ReceiptBody | null = null;
  while (r.pos < r.len) {
    const t = r.uint32();
    const f = t >>> 3;
    if (f === 1 && !message && !receipt) sent = decodeSent(r, r.uint32());
    else if (f === 2 && !sent && !receipt) message = decodeMessage(r, r.uint32());
    else if (f === 3 && !sent && !message) receipt = decodeReceipt(r, r.uint32());
    else if (f >= 1 && f <= FIELD_BODY_LAST) return OTHER_BODY; // another body, or a second hot one
    else r.skipType(t & 7, 0);
  }
  if (message) return { body: 'message', message };
  if (sent) return { body: 'sent', sent };
  if (receipt) return { body: 'receipt', receipt };
  return { body: undefined } as unknown as ServerFrame;
}
