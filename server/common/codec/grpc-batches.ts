// Hand codecs for the Connect stream's two messages, GatewayBatch and
// ChatBatch (proto/chat_service.proto; docs/design/024-hand-codecs.md): every
// field of both, so no dispatch. Encoding is byte for byte protobufjs 7.6's;
// decoding gives plain objects with every field (protobufjs's defaults where
// absent, `event` as its oneof getter would answer) and refuses what its
// decoder refuses (test/hand-codecs-grpc.test.ts).
//
// Per batch: one size pass and one write into one Buffer (encode); one
// object per item and a view per frame, no copies (decode).
import { EMPTY_BYTES_DEFAULT, WireReader } from './wire-reader';
import { delimited, uint64Size, varint32Size, writeBytes, writeString, writeUint64, writeVarint32 } from './wire-writer';

export interface WireInbound {
  conn: number;
  user: number;
  frame?: Uint8Array;
  connected?: boolean;
  disconnected?: boolean;
  hello?: { gateway_id: string; sessions: { conn: number; user: number }[] } | null;
  recv_at_us: number;
  event?: 'frame' | 'connected' | 'disconnected' | 'hello';
}

export interface WireGatewayBatch {
  items: WireInbound[];
  sent_at_us: number;
}

export interface WireOutbound {
  frame: Uint8Array;
  users: number[];
  conns: number[];
  recv_at_us: number;
  close: boolean;
}

export interface WireChatBatch {
  items: WireOutbound[];
  /** 0 or absent: nothing new processed (older chat nodes never set it). */
  processed_up_to_us?: number;
}

type Hello = NonNullable<WireInbound['hello']>;
/** Sizes computed in the size pass, consumed in order by the write pass: nested lengths and string byte lengths. */
type Sizes = number[];

// ---- GatewayBatch ----

function helloSize(h: Hello, s: Sizes): number {
  let n = h.gateway_id != null ? 1 + delimited(s, h.gateway_id) : 0;
  if (h.sessions != null) {
    for (const x of h.sessions) {
      const m = (x.conn != null ? 1 + varint32Size(x.conn >>> 0) : 0) + (x.user != null ? 1 + uint64Size(x.user) : 0);
      s.push(m);
      n += 1 + varint32Size(m) + m;
    }
  }
  return n;
}

function writeHello(out: Buffer, at: number, h: Hello, s: Sizes, k: { i: number }): number {
  if (h.gateway_id != null) { out[at++] = 0x0a; at = writeString(out, at, h.gateway_id, s[k.i++]!); }
  if (h.sessions != null) {
    for (const x of h.sessions) {
      out[at++] = 0x12;
      at = writeVarint32(out, at, s[k.i++]!);
      if (x.conn != null) { out[at++] = 0x08; at = writeVarint32(out, at, x.conn >>> 0); }
      if (x.user != null) { out[at++] = 0x10; at = writeUint64(out, at, x.user); }
    }
  }
  return at;
}

function inboundSize(m: WireInbound, s: Sizes): number {
  let n = (m.conn != null ? 1 + varint32Size(m.conn >>> 0) : 0) + (m.user != null ? 1 + uint64Size(m.user) : 0) +
    (m.frame != null ? 1 + varint32Size(m.frame.length) + m.frame.length : 0) +
    (m.connected != null ? 2 : 0) + (m.disconnected != null ? 2 : 0);
  if (m.hello != null) {
    const at = s.length;
    s.push(0);
    const h = helloSize(m.hello, s);
    s[at] = h;
    n += 1 + varint32Size(h) + h;
  }
  return n + (m.recv_at_us != null ? 1 + uint64Size(m.recv_at_us) : 0);
}

function writeInbound(out: Buffer, at: number, m: WireInbound, s: Sizes, k: { i: number }): number {
  if (m.conn != null) { out[at++] = 0x08; at = writeVarint32(out, at, m.conn >>> 0); }
  if (m.user != null) { out[at++] = 0x10; at = writeUint64(out, at, m.user); }
  if (m.frame != null) { out[at++] = 0x1a; at = writeBytes(out, at, m.frame); }
  if (m.connected != null) { out[at++] = 0x20; out[at++] = m.connected ? 1 : 0; }
  if (m.disconnected != null) { out[at++] = 0x28; out[at++] = m.disconnected ? 1 : 0; }
  if (m.hello != null) {
    out[at++] = 0x32;
    at = writeVarint32(out, at, s[k.i++]!);
    at = writeHello(out, at, m.hello, s, k);
  }
  if (m.recv_at_us != null) { out[at++] = 0x38; at = writeUint64(out, at, m.recv_at_us); }
  return at;
}

/**
 * A batch message as protobufjs encodes it: field 1, the repeated items (each length-delimited, its size and its
 * nested messages' sizes computed first into `s`), then field 2, a uint64 when present. GatewayBatch and ChatBatch
 * share this shape; only their item codecs differ.
 */
function encodeBatch<T>(
  items: readonly T[] | null | undefined, trailer: number | null | undefined,
  sizeOf: (m: T, s: Sizes) => number, write: (out: Buffer, at: number, m: T, s: Sizes, k: { i: number }) => number,
): Buffer {
  const s: Sizes = [];
  let n = 0;
  if (items != null) {
    for (const item of items) {
      const at = s.length;
      s.push(0);
      const m = sizeOf(item, s);
      s[at] = m;
      n += 1 + varint32Size(m) + m;
    }
  }
  if (trailer != null) n += 1 + uint64Size(trailer);
  const out = Buffer.allocUnsafe(n);
  const k = { i: 0 };
  let at = 0;
  if (items != null) {
    for (const item of items) {
      out[at++] = 0x0a;
      at = writeVarint32(out, at, s[k.i++]!);
      at = write(out, at, item, s, k);
    }
  }
  if (trailer != null) { out[at++] = 0x10; at = writeUint64(out, at, trailer); }
  return out;
}

/** A GatewayBatch, as protobufjs encodes it. */
export function encodeGatewayBatch(b: WireGatewayBatch): Buffer {
  return encodeBatch(b.items, b.sent_at_us, inboundSize, writeInbound);
}

function decodeSession(r: WireReader, length: number): { conn: number; user: number } {
  const outer = r.enter(length);
  const x = { conn: 0, user: 0 };
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1: x.conn = r.uint32(); break;
      case 2: x.user = r.uint64(); break;
      default: r.skipType(t & 7, 3);
    }
  }
  r.leave(outer);
  return x;
}

function decodeHello(r: WireReader, length: number): Hello {
  const outer = r.enter(length);
  const h: Hello = { gateway_id: '', sessions: [] };
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1: h.gateway_id = r.string(); break;
      case 2: h.sessions.push(decodeSession(r, r.uint32())); break;
      default: r.skipType(t & 7, 2);
    }
  }
  r.leave(outer);
  return h;
}

/** `event` as protobufjs's oneof getter answers it: the member whose FIRST assignment came last. */
function decodeInbound(r: WireReader, length: number): WireInbound {
  const outer = r.enter(length);
  const m: WireInbound = {
    conn: 0, user: 0, frame: EMPTY_BYTES_DEFAULT, connected: false, disconnected: false, hello: null, recv_at_us: 0, event: undefined,
  };
  let seen = 0; // bit per oneof member assigned so far
  while (r.pos < r.len) {
    const t = r.uint32();
    const f = t >>> 3;
    switch (f) {
      case 1: m.conn = r.uint32(); break;
      case 2: m.user = r.uint64(); break;
      case 3: m.frame = r.bytes(); break;
      case 4: m.connected = r.bool(); break;
      case 5: m.disconnected = r.bool(); break;
      case 6: m.hello = decodeHello(r, r.uint32()); break;
      case 7: m.recv_at_us = r.uint64(); break;
      default: r.skipType(t & 7, 1);
    }
    if (f >= 3 && f <= 6 && !(seen & (1 << f))) {
      seen |= 1 << f;
      m.event = INBOUND_EVENTS[f - 3];
    }
  }
  r.leave(outer);
  return m;
}

const INBOUND_EVENTS = ['frame', 'connected', 'disconnected', 'hello'] as const;

/** A GatewayBatch decoded; throws ProtocolError(MALFORMED_FRAME) where protobufjs's decoder throws. */
export function decodeGatewayBatch(bytes: Uint8Array): WireGatewayBatch {
  const r = new WireReader(bytes);
  const b: WireGatewayBatch = { items: [], sent_at_us: 0 };
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1: b.items.push(decodeInbound(r, r.uint32())); break;
      case 2: b.sent_at_us = r.uint64(); break;
      default: r.skipType(t & 7, 0);
    }
  }
  return b;
}

// ---- ChatBatch ----

function outboundSize(m: WireOutbound, s: Sizes): number {
  let n = m.frame != null ? 1 + varint32Size(m.frame.length) + m.frame.length : 0;
  if (m.users != null && m.users.length) {
    let p = 0;
    for (const u of m.users) p += uint64Size(u);
    s.push(p);
    n += 1 + varint32Size(p) + p;
  }
  if (m.conns != null && m.conns.length) {
    let p = 0;
    for (const c of m.conns) p += varint32Size(c >>> 0);
    s.push(p);
    n += 1 + varint32Size(p) + p;
  }
  return n + (m.recv_at_us != null ? 1 + uint64Size(m.recv_at_us) : 0) + (m.close != null ? 2 : 0);
}

function writeOutbound(out: Buffer, at: number, m: WireOutbound, s: Sizes, k: { i: number }): number {
  if (m.frame != null) { out[at++] = 0x0a; at = writeBytes(out, at, m.frame); }
  if (m.users != null && m.users.length) {
    out[at++] = 0x12;
    at = writeVarint32(out, at, s[k.i++]!);
    for (const u of m.users) at = writeUint64(out, at, u);
  }
  if (m.conns != null && m.conns.length) {
    out[at++] = 0x1a;
    at = writeVarint32(out, at, s[k.i++]!);
    for (const c of m.conns) at = writeVarint32(out, at, c >>> 0);
  }
  if (m.recv_at_us != null) { out[at++] = 0x20; at = writeUint64(out, at, m.recv_at_us); }
  if (m.close != null) { out[at++] = 0x28; out[at++] = m.close ? 1 : 0; }
  return at;
}

/** A ChatBatch (items may omit users, conns, recv_at_us, close: the chat service's OutboundInit), as protobufjs encodes it. */
export function encodeChatBatch(b: WireChatBatch): Buffer {
  return encodeBatch(b.items, b.processed_up_to_us, outboundSize, writeOutbound);
}

function readRepeated(r: WireReader, t: number, into: number[], wide: boolean): void {
  if ((t & 7) !== 2) {
    into.push(wide ? r.uint64() : r.uint32());
    return;
  }
  const outer = r.enter(r.uint32());
  while (r.pos < r.len) into.push(wide ? r.uint64() : r.uint32());
  r.leave(outer);
}

function decodeOutbound(r: WireReader, length: number): WireOutbound {
  const outer = r.enter(length);
  const m: WireOutbound = { frame: EMPTY_BYTES_DEFAULT, users: [], conns: [], recv_at_us: 0, close: false };
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1: m.frame = r.bytes(); break;
      case 2: readRepeated(r, t, m.users, true); break;
      case 3: readRepeated(r, t, m.conns, false); break;
      case 4: m.recv_at_us = r.uint64(); break;
      case 5: m.close = r.bool(); break;
      default: r.skipType(t & 7, 1);
    }
  }
  r.leave(outer);
  return m;
}

/** A ChatBatch decoded; throws ProtocolError(MALFORMED_FRAME) where protobufjs's decoder throws. */
export function decodeChatBatch(bytes: Uint8Array): WireChatBatch {
  const r = new WireReader(bytes);
  const b: WireChatBatch = { items: [], processed_up_to_us: 0 };
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1: b.items.push(decodeOutbound(r, r.uint32())); break;
      case 2: b.processed_up_to_us = r.uint64(); break;
      default: r.skipType(t & 7, 0);
    }
  }
  return b;
}
