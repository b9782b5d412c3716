// Fuzz target: the lean WebSocket client facing a hostile server
// (loadgen/client/frame-reader.ts, lean-ws.ts, ws-handshake.ts, and the chat
// client's batch decoding above them). Three properties:
//   - a valid frame stream (fragmented messages, pings between fragments, a
//     close at the end) cut into chunks at any points gives the same messages
//     as read whole;
//   - any bytes in any chunks: the reader never throws, reports at most one
//     failure and nothing after a failure or a close, and holds at most one
//     frame's worth of bytes (maxMessageBytes plus a header);
//   - a real server on loopback that answers the upgrade (or garbage instead
//     of it) and then sends any bytes: the connection ends with exactly one
//     onclose (or a refused connect), and the process lives on.
// Replay a failure: WA_FUZZ_SEED=<seed printed> node --test dist/test/fuzz-lean-ws.test.js
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { ChatClient } from '../loadgen/client/chat-client';
import { FrameReader, type FrameSink } from '../loadgen/client/frame-reader';
import { LeanWebSocket, LeanWsError } from '../loadgen/client/lean-ws';
import type { Transport } from '../loadgen/client/transport';
import { encodeServerFrame, frameBatch, type ServerFrameInit } from '../server/common/protocol';
import { fuzz } from './fuzz/harness';
import { mutated, rawMessage, wireNumber, wireString } from './fuzz/proto-gen';

const MAX = 4096;

/** One RFC 6455 frame as a server writes it (unmasked unless `mask`). */
function wsFrame(fin: boolean, opcode: number, payload: Uint8Array, mask = false): Buffer {
  const len = payload.length;
  const head = len < 126 ? [len] : len < 65536 ? [126, len >> 8, len & 0xff] : [127, 0, 0, 0, 0, (len >>> 24) & 0xff, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff];
  head[0]! |= mask ? 0x80 : 0;
  return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, ...head]), mask ? Buffer.alloc(4) : Buffer.alloc(0), payload]);
}

type Event = ['message', string] | ['ping', string] | ['close', number, string] | ['fail', number];

/** Feed `chunks` to a reader; the events it reported, and the most bytes it held. */
function read(chunks: Uint8Array[], maxMessageBytes = MAX): { events: Event[]; heldMax: number } {
  const events: Event[] = [];
  let ended = false;
  const sink: FrameSink = {
    message: (d) => { assert.ok(!ended, 'nothing after a close or failure'); events.push(['message', d.toString('hex')]); },
    ping: (p) => { assert.ok(!ended, 'nothing after a close or failure'); events.push(['ping', p.toString('hex')]); },
    close: (code, reason) => { assert.ok(!ended, 'nothing after a close or failure'); ended = true; reader.stop(); events.push(['close', code, reason]); },
    fail: (code) => { assert.ok(!ended, 'nothing after a close or failure'); ended = true; reader.stop(); events.push(['fail', code]); },
  };
  const reader = new FrameReader(maxMessageBytes, sink);
  let heldMax = 0;
  for (const c of chunks) {
    reader.push(Buffer.from(c));
    heldMax = Math.max(heldMax, reader.heldBytes);
  }
  return { events, heldMax };
}

function cut(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of at) {
    if (p > from) out.push(bytes.subarray(from, p));
    from = Math.max(from, p);
  }
  out.push(bytes.subarray(from));
  return out;
}

/** A valid server stream: messages (some fragmented, with pings between fragments), maybe a close. */
const validStream = fc.tuple(
  fc.array(fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 3 }), fc.boolean()), { maxLength: 6 }),
  fc.option(fc.tuple(fc.constantFrom(1000, 1001, 1011, 4008), fc.string({ maxLength: 20 }))),
).map(([messages, close]) => {
  const parts: Buffer[] = [];
  for (const [payload, pieces, ping] of messages) {
    const size = Math.ceil(payload.length / pieces) || 1;
    const fragments: Uint8Array[] = [];
    for (let i = 0; i < payload.length || fragments.length === 0; i += size) fragments.push(payload.subarray(i, i + size));
    fragments.forEach((f, i) => {
      parts.push(wsFrame(i === fragments.length - 1, i === 0 ? 0x2 : 0x0, f));
      if (ping && i < fragments.length - 1) parts.push(wsFrame(true, 0x9, Buffer.from('p')));
    });
  }
  if (close) {
    const reason = Buffer.from(close[1]).subarray(0, 100);
    parts.push(wsFrame(true, 0x8, Buffer.concat([Buffer.from([close[0] >> 8, close[0] & 0xff]), reason])));
  }
  return Buffer.concat(parts);
});

/** Hostile streams: random header bits, masks, huge lengths, bad close codes, bad UTF-8, truncation. */
const hostileFrame = fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 15 }), fc.uint8Array({ maxLength: 200 }), fc.boolean(), fc.integer({ min: 0, max: 7 }))
  .map(([fin, opcode, payload, mask, rsv]) => {
    const f = wsFrame(fin, opcode, payload, mask);
    f[0]! |= rsv << 4;
    return f;
  });
const hugeLength = fc.constantFrom(
  Buffer.from([0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0x82, 127, 0, 0x20, 0, 0, 0, 0, 0, 0]),
  Buffer.from([0x82, 127, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff]), Buffer.from([0x82, 126, 0xff, 0xff]), Buffer.from([0x81, 2, 0xc3, 0x28]),
  Buffer.from([0x88, 1, 3]), Buffer.from([0x88, 2, 0x03, 0xed]), Buffer.from([0x00, 0]),
);
const hostileStream = fc.oneof(
  fc.array(fc.oneof(hostileFrame, hugeLength, validStream), { maxLength: 6 }).map((l) => Buffer.concat(l)),
  fc.tuple(validStream, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, at, x]) => {
    if (b.length > 0) b[at % b.length] ^= x || 1;
    return b;
  }),
  fc.uint8Array({ maxLength: 300 }),
);

describe('fuzz: the lean client frame reader', () => {
  test('a valid frame stream cut into chunks anywhere reads the same as whole', async () => {
    await fuzz('ws-reader-chunking', 1500, fc.property(validStream, fc.array(fc.nat(), { maxLength: 8 }), (stream, points) => {
      const whole = read([stream]);
      assert.ok(!whole.events.some((e) => e[0] === 'fail'), `a valid stream failed: ${JSON.stringify(whole.events)}`);
      assert.deepEqual(read(cut(stream, points)).events, whole.events);
    }));
  });

  test('any bytes in any chunks: no throw, at most one failure, nothing after it, at most one frame held', async () => {
    await fuzz('ws-reader-hostile', 3000, fc.property(hostileStream, fc.array(fc.nat(), { maxLength: 8 }), (stream, points) => {
      const { events, heldMax } = read(cut(stream, points));
      assert.ok(events.filter((e) => e[0] === 'fail' || e[0] === 'close').length <= 1);
      assert.ok(heldMax <= MAX + 14, `held ${heldMax} bytes`);
    }));
  });
});

describe('fuzz: the chat client decoding what a server sends', () => {
  const serverFrame: fc.Arbitrary<ServerFrameInit> = fc.oneof(
    fc.record({ message: fc.record({ id: wireNumber, chat_id: wireString, seq: wireNumber, from_user: wireNumber, client_msg_id: wireString, body: fc.uint8Array({ maxLength: 32 }), sent_at_ms: wireNumber, replay: fc.boolean() }) }),
    fc.record({ sent: fc.record({ ref: fc.nat(), client_msg_id: wireString, id: wireNumber, chat_id: wireString, seq: wireNumber, server_time_ms: wireNumber }) }),
    fc.record({ receipt: fc.record({ chat_id: wireString, user: wireNumber, kind: fc.nat({ max: 5 }), up_to_id: wireNumber }) }),
    fc.record({ error: fc.record({ ref: fc.nat(), code: wireString, message: wireString }) }),
    fc.record({ presence: fc.record({ user: wireNumber, online: fc.boolean(), last_seen_ms: wireNumber }) }),
    fc.record({ pong: fc.record({ ref: fc.nat(), client_time_ms: wireNumber, server_time_ms: wireNumber }) }),
    fc.record({ drain_done: fc.record({ messages: fc.nat() }) }),
  ) as fc.Arbitrary<ServerFrameInit>;
  const validBatch = fc.array(serverFrame.map((f) => encodeServerFrame(f)), { maxLength: 5 }).map((l) => frameBatch(l));

  test('any server batch is dispatched or reported as a CLIENT_DECODE error, never a throw', async () => {
    const sent: Uint8Array[] = [];
    const transport: Transport = {
      send: (d) => void sent.push(d), close: () => {}, onmessage: () => {}, onclose: () => {}, bufferedAmount: 0, pause: () => {}, resume: () => {},
    };
    const Ctor = ChatClient as unknown as new (t: Transport, o: object) => ChatClient;
    const client = new Ctor(transport, { url: 'ws://127.0.0.1:1/v1/ws', token: 't', ackDelayMs: null });
    await fuzz('chat-client-batches', 2000, fc.property(fc.oneof(validBatch, mutated(validBatch), rawMessage), (bytes) => {
      transport.onmessage(Buffer.from(bytes));
    }));
    transport.onclose(1000, 'done');
  });
});

describe('fuzz: a hostile server on loopback', () => {
  let server: net.Server;
  let port = 0;
  /** What the next connection gets: the upgrade answer (or garbage), then the bytes. */
  let script: { upgrade: 'valid' | Buffer; bytes: Uint8Array[] } = { upgrade: 'valid', bytes: [] };

  before(async () => {
    server = net.createServer((sock) => {
      const s = script;
      let head = '';
      sock.on('error', () => {});
      sock.on('data', (d) => {
        if (head.includes('\r\n\r\n')) return;
        head += d.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        const key = /sec-websocket-key: *(\S+)/i.exec(head)?.[1] ?? '';
        const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
        sock.write(s.upgrade === 'valid' ? `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n` : s.upgrade);
        for (const b of s.bytes) sock.write(b);
        setTimeout(() => sock.destroy(), 20);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });

  after(() => new Promise<void>((r) => server.close(() => r())));

  test('whatever the server answers and sends, the client ends with one onclose or a refused connect', async () => {
    const upgrade = fc.oneof(
      { weight: 4, arbitrary: fc.constant('valid' as const) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.concat([Buffer.from(b), Buffer.from('\r\n\r\n')])) },
      { weight: 1, arbitrary: fc.constantFrom('HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n\r\n', 'HTTP/1.1 401 Unauthorized\r\n\r\n', 'HTTP/1.1 101\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n').map((s) => Buffer.from(s)) },
    );
    await fuzz('lean-ws-hostile-server', 40, fc.asyncProperty(upgrade, fc.array(hostileStream, { maxLength: 3 }), async (up, bytes) => {
      script = { upgrade: up, bytes };
      let ws: LeanWebSocket;
      try {
        ws = await LeanWebSocket.connect({ url: `ws://127.0.0.1:${port}/v1/ws`, maxMessageBytes: MAX, connectTimeoutMs: 2000 });
      } catch (err) {
        assert.ok(err instanceof LeanWsError, `connect rejected with ${String(err)}`);
        return;
      }
      let closes = 0;
      const closed = new Promise<void>((resolve) => {
        ws.onclose = () => {
          closes++;
          resolve();
        };
      });
      await Promise.race([closed, new Promise((r) => setTimeout(r, 3000))]);
      await new Promise((r) => setTimeout(r, 5));
      assert.equal(closes, 1, 'exactly one onclose');
    }));
  });
});
