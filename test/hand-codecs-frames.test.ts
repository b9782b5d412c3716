// The hand codecs of the hot client-protocol frames (server/common/codec/,
// docs/design/024-hand-codecs.md) pinned to protobufjs: encode gives the same
// bytes, decode the same values (protobufjs's defaults included) or the same
// refusal (same ProtocolError code), for a table of representative frames and
// for generated ones: valid with edge values, damaged, hostile, random.
// Replay a failure: WA_FUZZ_SEED=<seed printed> node --test dist/test/hand-codecs-frames.test.js
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ErrorCode, ProtocolError } from '../server/common/errors';
import {
  decodeClientFrame, decodeServerFrame, encodeClientFrame, encodeServerFrame, type ClientFrameInit, type SendBody, type ServerFrameInit,
} from '../server/common/protocol';
import { EngineHarness } from './helpers/engine-harness';
import { fuzz } from './fuzz/harness';
import { clientFrameBytes, clientFrameInit, mutated, rawMessage, wireNumber, wireString } from './fuzz/proto-gen';
import { bothForms, hostileAt, outcome, plain, Ref, refEncode } from './helpers/codec-compare';

const FIELDS = {
  send: ['to_user', 'client_msg_id', 'body', 'chat_id'],
  ack: ['chat_id', 'delivered_up_to', 'read_up_to'],
  sent: ['ref', 'client_msg_id', 'id', 'chat_id', 'seq', 'server_time_ms'],
  message: ['id', 'chat_id', 'seq', 'from_user', 'client_msg_id', 'body', 'sent_at_ms', 'replay', 'system:system'],
  system: ['kind', 'actor', 'users', 'name'],
  receipt: ['chat_id', 'user', 'kind', 'up_to_id'],
} as const;

/** A decoded frame as plain data: ref (client frames), the body's name and, for the hot bodies, every field. */
function plainFrame(v: unknown): unknown {
  const f = v as Record<string, unknown> & { body?: string };
  const out: Record<string, unknown> = { ref: f.ref, body: f.body };
  if (f.body && f.body in FIELDS) out[f.body] = plain(f[f.body], FIELDS, f.body);
  else if (f.body) out[f.body] = JSON.stringify(f[f.body]); // protobufjs on both sides: the same object
  return out;
}

/** The protobufjs path as decodeClientFrame was before the hand codecs. */
function refDecodeClientFrame(bytes: Uint8Array): unknown {
  let f: { body?: string };
  try {
    f = Ref.ClientFrame.decode(bytes) as unknown as { body?: string };
  } catch (err) {
    throw new ProtocolError(ErrorCode.MALFORMED_FRAME, String(err));
  }
  if (!f.body) throw new ProtocolError(ErrorCode.UNKNOWN_TYPE, 'no body');
  return withSendBody(f);
}

/** The decoder's one intended departure from protobufjs: an absent Send.body is an empty Buffer, not a frozen []. */
function withSendBody<T extends { body?: string }>(f: T): unknown {
  const s = (f as { send?: SendBody }).send;
  if (f.body !== 'send' || !s || s.body instanceof Uint8Array) return f;
  return { ref: (f as { ref?: number }).ref, body: 'send', send: { to_user: s.to_user, client_msg_id: s.client_msg_id, body: Buffer.alloc(0), chat_id: s.chat_id } };
}

function assertClientDecodeAgrees(bytes: Uint8Array): void {
  for (const b of bothForms(bytes)) {
    assert.deepEqual(outcome(() => decodeClientFrame(b), plainFrame), outcome(() => refDecodeClientFrame(b), plainFrame),
      `decodeClientFrame(${b.constructor.name} ${Buffer.from(b).toString('hex')})`);
  }
}

function assertServerDecodeAgrees(bytes: Uint8Array): void {
  for (const b of bothForms(bytes)) {
    const hand = outcome(() => decodeServerFrame(b), plainFrame);
    const ref = outcome(() => Ref.ServerFrame.decode(b), plainFrame);
    // protobufjs throws RangeError/Error; the hand decoder a ProtocolError: both refuse.
    if ('error' in ref) assert.ok('error' in hand, `hand decode accepted what protobufjs refuses: ${Buffer.from(b).toString('hex')}`);
    else assert.deepEqual(hand, ref, `decodeServerFrame(${b.constructor.name} ${Buffer.from(b).toString('hex')})`);
  }
}

const BODY = Buffer.from('hello, world');
const CLIENT_TABLE: ClientFrameInit[] = [
  { ref: 1, send: { to_user: 2001, client_msg_id: 'm-1', body: BODY } },
  { ref: 0, send: { to_user: 0, client_msg_id: '', body: new Uint8Array(0), chat_id: '' } },
  { send: { client_msg_id: 'g-1', body: BODY, chat_id: 'g.42' } },
  { ref: 2 ** 32 - 1, send: { to_user: 2 ** 53 - 1, client_msg_id: 'é\u{1F600}\uD800', body: Buffer.alloc(300, 7), chat_id: 'x'.repeat(45) } },
  { ack: { chat_id: 'd.1001.2001', delivered_up_to: 17, read_up_to: 17 } },
  { ref: 9, ack: { chat_id: 'd.1.2', delivered_up_to: 2 ** 40 + 1 } },
  { ack: { chat_id: '' } },
];
const SERVER_TABLE: ServerFrameInit[] = [
  { sent: { ref: 1, client_msg_id: 'm-1', id: 1_767_225_600_123, chat_id: 'd.1001.2001', seq: 1, server_time_ms: 1_767_225_600_000 } },
  { sent: { ref: 0, client_msg_id: '', id: 0, chat_id: '', seq: 0, server_time_ms: 0 } },
  { message: { id: 2 ** 53 - 1, chat_id: 'd.1.2', seq: 5, from_user: 1, client_msg_id: 'm', body: BODY, sent_at_ms: 1, replay: false } },
  { message: { id: 1, chat_id: 'g.1', seq: 1, from_user: 1, client_msg_id: '', body: new Uint8Array(0), sent_at_ms: 2, replay: true, system: { kind: 1, actor: 1, users: [2, 3, 2 ** 40], name: '' } } },
  { message: { id: 1, chat_id: 'g.1', seq: 1, from_user: 1, client_msg_id: '', body: new Uint8Array(0), sent_at_ms: 2, replay: false, system: { kind: 0, actor: 1, users: [], name: 'the group' } } },
  { message: { id: 1, chat_id: 'g.1', seq: 1, from_user: 1, client_msg_id: '', body: BODY, sent_at_ms: 2, replay: false, system: null } },
  { receipt: { chat_id: 'd.1.2', user: 2, kind: 1, up_to_id: 99 } },
  { receipt: { chat_id: 'g.7', user: 0, kind: 2, up_to_id: 2 ** 52 } },
];

describe('hand codecs: client frames (send, ack) against protobufjs', () => {
  test('a table of representative frames: the same bytes, and they decode to the same values', () => {
    for (const f of CLIENT_TABLE) {
      const bytes = Buffer.from(encodeClientFrame(f));
      assert.equal(bytes.toString('hex'), refEncode(Ref.ClientFrame, f).toString('hex'), JSON.stringify(f));
      assertClientDecodeAgrees(bytes);
    }
  });

  test('every generated frame (send and ack with fields absent, negative ids, refs past 2^32; the bodies protobufjs keeps) encodes to protobufjs\'s bytes', async () => {
    const partial = fc.tuple(fc.option(fc.nat({ max: 2 ** 33 }), { nil: undefined }), fc.oneof(
      fc.record({ send: fc.record({ to_user: wireNumber, client_msg_id: wireString, body: fc.uint8Array({ maxLength: 300 }), chat_id: wireString }, { requiredKeys: ['client_msg_id'] }) }),
      fc.record({ ack: fc.record({ chat_id: wireString, delivered_up_to: wireNumber, read_up_to: fc.oneof(wireNumber, fc.integer({ min: -1000, max: -1 })) }, { requiredKeys: ['chat_id'] }) }),
    )).map(([ref, body]) => (ref === undefined ? body : { ref, ...body }) as ClientFrameInit);
    await fuzz('hand-codec-client-encode', 2000, fc.property(fc.oneof(clientFrameInit, partial), (f) => {
      assert.equal(Buffer.from(encodeClientFrame(f)).toString('hex'), refEncode(Ref.ClientFrame, f).toString('hex'));
    }));
  });

  test('valid, damaged, hostile and random bytes: the same values or the same refusal code as protobufjs', async () => {
    const bytes = fc.oneof(clientFrameBytes, hostileAt([[2], [3]]), mutated(hostileAt([[2], [3]])), fc.uint8Array({ maxLength: 40 }));
    await fuzz('hand-codec-client-decode', 4000, fc.property(bytes, assertClientDecodeAgrees));
  });

  test('regression cases: a string running past its message (a Buffer clamps it, a Uint8Array refuses), send and ack in one frame, no body', () => {
    assertClientDecodeAgrees(Uint8Array.of(0x12, 0x03, 0x12, 0x05, 0x61)); // send{client_msg_id: length 5, 1 byte there}
    assertClientDecodeAgrees(Uint8Array.of(0x12, 0x00, 0x1a, 0x00, 0x12, 0x00)); // send, ack, send
    assertClientDecodeAgrees(Uint8Array.of(0x08, 0x05)); // ref only
    assertClientDecodeAgrees(Uint8Array.of(0x12, 0x04, 0x08, 0x80, 0x80, 0x80)); // to_user: a varint cut short near the end
    assertClientDecodeAgrees(Uint8Array.of(0x12, 0x05, 0x08, 0x80, 0x80, 0x80, 0x80)); // 4th byte taken whatever its high bit
    assert.throws(() => decodeClientFrame(Uint8Array.of(0x12, 0x05, 0x08)), (e) => e instanceof ProtocolError && e.code === ErrorCode.MALFORMED_FRAME);
    assert.throws(() => decodeClientFrame(Uint8Array.of(0x08, 0x05)), (e) => e instanceof ProtocolError && e.code === ErrorCode.UNKNOWN_TYPE);
  });
});

const text = fc.oneof(wireString, fc.string({ unit: 'binary', maxLength: 60 }));
const serverFrameInit: fc.Arbitrary<ServerFrameInit> = fc.oneof(
  fc.record({ sent: fc.record({ ref: fc.nat({ max: 2 ** 32 - 1 }), client_msg_id: text, id: wireNumber, chat_id: text, seq: wireNumber, server_time_ms: wireNumber }) }),
  fc.record({
    message: fc.record({
      id: wireNumber, chat_id: text, seq: wireNumber, from_user: wireNumber, client_msg_id: text, body: fc.uint8Array({ maxLength: 400 }),
      sent_at_ms: fc.oneof(wireNumber, fc.integer({ min: -(2 ** 53), max: -1 })), replay: fc.boolean(),
      system: fc.option(fc.record({ kind: fc.integer({ min: -2, max: 7 }), actor: wireNumber, users: fc.array(wireNumber, { maxLength: 40 }), name: text })),
    }, { requiredKeys: ['id', 'chat_id', 'body'] }),
  }),
  fc.record({ receipt: fc.record({ chat_id: text, user: wireNumber, kind: fc.integer({ min: -1, max: 3 }), up_to_id: wireNumber }, { requiredKeys: [] }) }),
) as fc.Arbitrary<ServerFrameInit>;

describe('hand codecs: server frames (sent, message, receipt) against protobufjs', () => {
  test('a table of representative frames: the same bytes, and they decode to the same values', () => {
    for (const f of SERVER_TABLE) {
      const bytes = Buffer.from(encodeServerFrame(f));
      assert.equal(bytes.toString('hex'), refEncode(Ref.ServerFrame, f).toString('hex'), JSON.stringify(f));
      assertServerDecodeAgrees(bytes);
    }
  });

  test('every generated frame encodes to protobufjs\'s bytes (uint64 edges, negatives, lone surrogates, absent fields)', async () => {
    await fuzz('hand-codec-server-encode', 2000, fc.property(serverFrameInit, (f) => {
      assert.equal(Buffer.from(encodeServerFrame(f)).toString('hex'), refEncode(Ref.ServerFrame, f).toString('hex'));
    }));
  });

  test('valid, damaged, hostile and random bytes: the same values as protobufjs, or refused like it', async () => {
    const valid = serverFrameInit.map((f) => refEncode(Ref.ServerFrame, f));
    const bytes = fc.oneof(valid, mutated(valid), hostileAt([[1], [2], [3], [2, 9]]), rawMessage, fc.uint8Array({ maxLength: 40 }));
    await fuzz('hand-codec-server-decode', 4000, fc.property(bytes, assertServerDecodeAgrees));
  });
});

describe('hand codecs: where the client-frame decoder departs from protobufjs on purpose', () => {
  test('regression: a send without a body field (proto3 encoders omit an empty body) is stored with an empty body, and does not fail the tick\'s commit for the other senders', async () => {
    // protobufjs decodes the absent field to a frozen empty ARRAY; the store bound it as a parameter list and the
    // whole tick's commit failed ("Too few parameter values were provided"): every send of that tick got UNAVAILABLE.
    const bare = Uint8Array.of(0x08, 0x01, 0x12, 0x05, 0x12, 0x03, 0x6e, 0x2d, 0x31); // ref 1, send { client_msg_id: 'n-1' }
    const f = decodeClientFrame(Buffer.from(bare));
    assert.ok(f.body === 'send' && Buffer.isBuffer(f.send.body) && f.send.body.length === 0);
    // The same when protobufjs decodes it (a history field first, then the send: the getter answers 'send').
    const mixed = decodeClientFrame(Buffer.from([0x22, 0x00, 0x12, 0x00]));
    assert.ok(mixed.body === 'send' && Buffer.isBuffer(mixed.send.body) && mixed.send.body.length === 0);
    assertClientDecodeAgrees(Uint8Array.of(0x22, 0x00, 0x12, 0x00));
    const h = await new EngineHarness().start();
    try {
      const [a, b, c] = [await h.newUser(), await h.newUser(), await h.newUser()];
      for (const u of [a, b, c]) await h.connect(u);
      h.frame(a, { ref: 1, send: { to_user: b, client_msg_id: 'n-1' } }); // encodes no body field at all
      h.send(c, b, 'hello', 'c-1', 2);
      await h.settle();
      assert.deepEqual(h.log.of('error').map((e) => e.code), []);
      assert.deepEqual(h.log.of('sent').map((e) => e.ref).sort(), [1, 2]);
      assert.deepEqual(h.deliveries().map((d) => d.text).sort(), ['', 'hello']);
    } finally {
      await h.close();
    }
  });
});
