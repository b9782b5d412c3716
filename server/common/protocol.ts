// The client protocol's codecs, built from proto/client.proto (the one source
// of truth). Message ids are uint64 on the wire and plain numbers here: Long
// support is switched off so protobufjs decodes them to numbers (they are kept
// below 2^53, see ids.ts).
//
// Batches are framed by hand: a ServerBatch is the concatenation of
// (tag 0x0a, varint length, encoded ServerFrame) per frame, so a gateway can
// coalesce frames that the chat service encoded once, without decoding them.
//
// The frames of every message (ClientFrame send/ack, ServerFrame sent/message/
// receipt) go through hand codecs (./codec/, docs/design/024-hand-codecs.md)
// that write the same bytes as protobufjs and decode to the same values; every
// other frame kind goes through protobufjs. The split is by body kind, decided
// before or while reading the frame, never a retry after an error.
import protobuf from 'protobufjs';
import { join } from 'node:path';
import { PROTO_DIR } from './paths';
import { ErrorCode, ProtocolError } from './errors';
import type { ClientFrame, ClientFrameInit, ServerFrame, ServerFrameInit, SystemEventBody } from './protocol-types';
import { ABSENT_SEND_BODY, decodeSendOrAck, encodeSendOrAck, isSendOrAck, OTHER_BODY } from './codec/client-frames';
import { encodeServerFrameHand, isHotServerFrame } from './codec/server-frames';
import { decodeHotServerFrame } from './codec/server-frames-decode';

export * from './protocol-types';

(protobuf.util as { Long: unknown }).Long = undefined;
protobuf.configure();

const root = new protobuf.Root();
root.loadSync(join(PROTO_DIR, 'client.proto'), { keepCase: true });
root.resolveAll();

export const ClientFrameType = root.lookupType('wa.client.ClientFrame');
export const ServerFrameType = root.lookupType('wa.client.ServerFrame');
export const ClientBatchType = root.lookupType('wa.client.ClientBatch');
export const ServerBatchType = root.lookupType('wa.client.ServerBatch');
export const MessageType = root.lookupType('wa.client.Message');
export const SystemEventType = root.lookupType('wa.client.SystemEvent');

export function encodeSystemEvent(e: SystemEventBody): Uint8Array {
  return SystemEventType.encode(e as object).finish();
}

export function decodeSystemEvent(bytes: Uint8Array): SystemEventBody {
  return SystemEventType.decode(bytes) as unknown as SystemEventBody;
}


// ---- Encoding ----

/** Encode one ServerFrame (its one body: the type says so): sent, message and receipt by hand, the rest by protobufjs. */
export function encodeServerFrame(frame: ServerFrameInit): Uint8Array {
  if (isHotServerFrame(frame)) return encodeServerFrameHand(frame);
  return ServerFrameType.encode(frame as object).finish();
}

/** Encode one ClientFrame (its one body: the type says so): send and ack by hand, the rest by protobufjs. */
export function encodeClientFrame(frame: ClientFrameInit): Uint8Array {
  if (isSendOrAck(frame)) return encodeSendOrAck(frame);
  return ClientFrameType.encode(frame as object).finish();
}

/** Frame a list of encoded frames as one batch (ClientBatch or ServerBatch: same layout). */
export function frameBatch(frames: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const f of frames) size += 1 + varintSize(f.length) + f.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const f of frames) {
    out[at++] = 0x0a;
    at = writeVarint(out, at, f.length);
    out.set(f, at);
    at += f.length;
  }
  return out;
}

/** Append one encoded frame, batch-framed, into `out` at `at`; returns the new offset. */
export function writeBatchEntry(out: Uint8Array, at: number, frame: Uint8Array): number {
  out[at++] = 0x0a;
  at = writeVarint(out, at, frame.length);
  out.set(frame, at);
  return at + frame.length;
}

export function batchEntrySize(frameLength: number): number {
  return 1 + varintSize(frameLength) + frameLength;
}

/**
 * Split a batch into its encoded frames (views, no copies). Throws
 * ProtocolError(MALFORMED_FRAME) on anything that is not a well-formed batch,
 * BATCH_TOO_LARGE past `framesMax`.
 */
export function splitBatch(buf: Uint8Array, framesMax: number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let at = 0;
  while (at < buf.length) {
    if (buf[at] !== 0x0a) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'batch: expected field 1 (frames)');
    at++;
    let len = 0;
    let shift = 0;
    for (;;) {
      if (at >= buf.length || shift > 28) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'batch: bad length');
      const b = buf[at++]!;
      len += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
      shift += 7;
    }
    if (at + len > buf.length) throw new ProtocolError(ErrorCode.MALFORMED_FRAME, 'batch: truncated frame');
    if (frames.length === framesMax) {
      throw new ProtocolError(ErrorCode.BATCH_TOO_LARGE, `more than batch_frames_max=${framesMax} frames in one batch`);
    }
    frames.push(buf.subarray(at, at + len));
    at += len;
  }
  return frames;
}

/** Decode one client frame; ProtocolError on garbage or on a frame with no known body. */
export function decodeClientFrame(bytes: Uint8Array): ClientFrame {
  const hot = decodeSendOrAck(bytes); // throws ProtocolError itself
  if (hot !== OTHER_BODY) return hot;
  let frame: ClientFrame;
  try {
    frame = ClientFrameType.decode(bytes) as unknown as ClientFrame;
  } catch (err) {
    throw new ProtocolError(ErrorCode.MALFORMED_FRAME, `undecodable frame: ${(err as Error).message}`);
  }
  if (!frame.body) throw new ProtocolError(ErrorCode.UNKNOWN_TYPE, 'frame has no known body type');
  // A send that came this way (beside another body field): its absent body as the hand decoder gives it.
  if (frame.body === 'send' && !(frame.send.body instanceof Uint8Array)) frame.send.body = ABSENT_SEND_BODY;
  return frame;
}

/** Decode one ServerFrame (clients do): sent, message and receipt by hand, the rest by protobufjs. */
export function decodeServerFrame(bytes: Uint8Array): ServerFrame {
  return decodeHotServerFrame(bytes) ?? (ServerFrameType.decode(bytes) as unknown as ServerFrame);
}

/** Decode a whole ServerBatch into frames (clients use this). */
export function decodeServerBatch(buf: Uint8Array): ServerFrame[] {
  return splitBatch(buf, Number.MAX_SAFE_INTEGER).map(decodeServerFrame);
}

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

function writeVarint(out: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}
