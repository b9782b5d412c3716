// Fuzz target: the internal Connect stream's codecs and the chat service's
// intake of what they decode (server/common/grpc-defs.ts, server/chat/
// stream-intake.ts). GatewayBatch and ChatBatch bytes, valid (edge values:
// users past 2^53, conn 0, empty and oversize frames, Hello with odd
// sessions), almost valid (bytes flipped, cut) and hostile (wrong wire types,
// truncated varints, lengths past the end): the deserializer either throws an
// Error (grpc-js then fails that call with INTERNAL, the server keeps running)
// or yields items that the intake turns into well-formed engine events or
// refuses; the accepted events, fed to a real engine, never break an invariant.
// Replay a failure: WA_FUZZ_SEED=<seed printed> node --test dist/test/fuzz-grpc-stream.test.js
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { helloOf, inboundEventOf } from '../server/chat/stream-intake';
import { DEFAULT_LIMITS } from '../server/common/config';
import { chatServiceDefinition, outboundItemOk, type WireGatewayBatch, type WireOutbound } from '../server/common/grpc-defs';
import { isUserId } from '../server/common/validation';
import { EngineHarness } from './helpers/engine-harness';
import { fuzz } from './fuzz/harness';
import { clientFrameBytes, mutated, rawMessage, wireNumber, wireString } from './fuzz/proto-gen';

const L = DEFAULT_LIMITS;
const connect = chatServiceDefinition.Connect!;
const encodeGatewayBatch = (b: object) => connect.requestSerialize(b) as Buffer;
const decodeGatewayBatch = (b: Buffer) => connect.requestDeserialize(b) as WireGatewayBatch;
const encodeChatBatch = (b: object) => connect.responseSerialize(b) as Buffer;
const decodeChatBatch = (b: Buffer) => connect.responseDeserialize(b) as { items: { frame: Uint8Array; users: number[]; conns: number[] }[] };

const conn = fc.oneof(fc.constantFrom(0, 1, 2, 2 ** 32 - 1), fc.nat({ max: 2 ** 32 - 1 }));
const session = fc.record({ conn, user: wireNumber });
const hello = fc.record({ gateway_id: wireString, sessions: fc.array(session, { maxLength: 5 }) });

function inboundItem(users: fc.Arbitrary<number>): fc.Arbitrary<object> {
  const base = { conn, user: users, recv_at_us: wireNumber };
  return fc.oneof(
    fc.record({ ...base, frame: clientFrameBytes }),
    fc.record({ ...base, connected: fc.constant(true) }),
    fc.record({ ...base, disconnected: fc.constant(true) }),
    fc.record({ ...base, hello }),
    fc.record(base),
  );
}

const validGatewayBatch = (users: fc.Arbitrary<number>) =>
  fc.record({ items: fc.array(inboundItem(users), { maxLength: 6 }), sent_at_us: wireNumber }).map((b) => new Uint8Array(encodeGatewayBatch(b)));

const gatewayBatchBytes = (users: fc.Arbitrary<number>) => fc.oneof(
  { weight: 4, arbitrary: validGatewayBatch(users) },
  { weight: 3, arbitrary: mutated(validGatewayBatch(users)) },
  { weight: 2, arbitrary: rawMessage },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 100 }) },
);

const validChatBatch = fc.record({
  items: fc.array(fc.record({ frame: fc.uint8Array({ maxLength: 64 }), users: fc.array(wireNumber, { maxLength: 4 }), conns: fc.array(conn, { maxLength: 4 }), recv_at_us: wireNumber, close: fc.boolean() }), { maxLength: 4 }),
  processed_up_to_us: wireNumber,
}).map((b) => new Uint8Array(encodeChatBatch(b)));

function tryDecode<T>(decode: () => T): T | null {
  try {
    return decode();
  } catch (err) {
    assert.ok(err instanceof Error, `the deserializer threw a non-Error: ${String(err)}`);
    return null;
  }
}

describe('Connect stream items: regressions found by fuzzing', () => {
  test('regression: a "connected" item for a user id past 2^53 is refused (it reached SQLite as a REAL: SQLITE_MISMATCH in a tick ended the chat process)', () => {
    for (const user of [2 ** 64 - 2048, 2 ** 53 + 2, 0]) {
      const item = decodeGatewayBatch(encodeGatewayBatch({ items: [{ conn: 1, user, connected: true, recv_at_us: 0 }] })).items[0]!;
      assert.equal(typeof inboundEventOf(item, L), 'string', `user ${user}`);
    }
  });

  test('regression: a Hello with sessions of unsafe users keeps only the well-formed ones', () => {
    const item = decodeGatewayBatch(encodeGatewayBatch({ items: [{ conn: 0, user: 0, hello: { gateway_id: 'gw', sessions: [{ conn: 1, user: 2 ** 64 - 2048 }, { conn: 2, user: 5 }] } }] })).items[0]!;
    const h = helloOf(item.hello);
    assert.ok(typeof h !== 'string');
    assert.deepEqual(h.hello.sessions, [{ conn: 2, user: 5 }]);
    assert.equal(h.refused, 1);
  });
});

describe('ChatBatch items: regressions found by fuzzing', () => {
  test('regression: an Outbound item without a frame decodes to an empty array, not bytes: the gateway drops it', () => {
    const item = decodeChatBatch(Buffer.from([10, 4, 16, 1, 24, 1])).items[0]! as unknown as WireOutbound;
    assert.equal(item.frame instanceof Uint8Array, false);
    assert.equal(outboundItemOk(item), false);
  });
});

describe('fuzz: the Connect stream codecs', () => {
  test('GatewayBatch bytes decode to items the intake accepts well-formed or refuses, or to an Error', async () => {
    await fuzz('grpc-gateway-batch', 3000, fc.property(gatewayBatchBytes(wireNumber), (bytes) => {
      const batch = tryDecode(() => decodeGatewayBatch(Buffer.from(bytes)));
      if (!batch) return;
      for (const item of batch.items) {
        if (item.event === 'hello') {
          const h = helloOf(item.hello);
          if (typeof h !== 'string') for (const s of h.hello.sessions) assert.ok(isUserId(s.user) && s.conn > 0);
          continue;
        }
        const ev = inboundEventOf(item, L);
        if (typeof ev === 'string') continue;
        assert.ok(ev.kind === 'frame' || ev.kind === 'connected' || ev.kind === 'disconnected');
        assert.ok(isUserId(ev.user) && ev.conn > 0 && ev.conn <= 0xffffffff);
        if (ev.kind === 'frame') assert.ok(ev.frame.length <= L.frame_bytes_max && Number.isSafeInteger(ev.recv_at_us));
      }
    }));
  });

  test('ChatBatch bytes (what a gateway receives) decode to items or to an Error', async () => {
    await fuzz('grpc-chat-batch', 2000, fc.property(fc.oneof(validChatBatch, mutated(validChatBatch), rawMessage), (bytes) => {
      const batch = tryDecode(() => decodeChatBatch(Buffer.from(bytes)));
      if (!batch) return;
      for (const item of batch.items) {
        if (!outboundItemOk(item as WireOutbound)) continue; // the gateway drops it (counted)
        assert.ok(item.frame instanceof Uint8Array && item.frame.length > 0);
        assert.ok(Number.isSafeInteger((item as WireOutbound).recv_at_us));
      }
    }));
  });
});

describe('fuzz: stream items into a real chat engine', () => {
  let h: EngineHarness;
  let users: number[] = [];
  const rejections: unknown[] = [];
  const onRejection = (err: unknown) => rejections.push(err);

  before(async () => {
    process.on('unhandledRejection', onRejection);
    h = await new EngineHarness().start();
    users = [await h.newUser(), await h.newUser()];
    for (const u of users) await h.connect(u);
  });

  after(async () => {
    process.off('unhandledRejection', onRejection);
    await h?.close();
  });

  test('accepted items of any decoded batch never break an engine invariant, and the engine keeps serving', async () => {
    let probe = 0;
    // Users: the two real ones, new ones, and hostile values (the intake must stop those).
    const user = fc.oneof(fc.constantFrom(...users), fc.integer({ min: 1, max: 2 ** 40 }), wireNumber);
    await fuzz('grpc-stream-engine', 300, fc.asyncProperty(gatewayBatchBytes(user), async (bytes) => {
      const batch = tryDecode(() => decodeGatewayBatch(Buffer.from(bytes)));
      if (!batch) return;
      for (const item of batch.items) {
        if (item.event === 'hello') continue; // one Hello per link: the harness's link said it
        const ev = inboundEventOf(item, L);
        if (typeof ev !== 'string') h.engine.enqueue(h.link, ev);
      }
      await h.settle();
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(rejections.map(String), [], 'no tick failed');
      h.log.clear();
      // The fuzzed items may have closed the probe users' connections: connect them again.
      for (const u of users) await h.connect(u);
      h.send(users[0]!, users[1]!, 'probe', `probe-${probe++}`);
      await h.settle();
      assert.equal(h.log.of('sent').length, 1, 'the probe send was acknowledged');
      h.log.clear();
    }));
  });
});
