// Fuzz targets: the client protocol from the socket inwards. The gateway's
// edge (batch split, frame decode, validation: the exact sequence of
// server/gateway/gateway.ts onMessage) and the chat engine behind it (a real
// in-memory store) fed with frames that passed that edge: whatever a client
// sends, the edge answers with a ProtocolError or passes a frame the engine
// handles without breaking an invariant (an InvariantError in a tick ends the
// chat process: one client must never be able to cause it).
// Replay a failure: WA_FUZZ_SEED=<seed printed> node --test dist/test/fuzz-client-frames.test.js
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeInbound } from '../server/chat/wire';
import { directChatId } from '../server/common/chat-id';
import { DEFAULT_LIMITS } from '../server/common/config';
import { ProtocolError } from '../server/common/errors';
import { decodeClientFrame, encodeClientFrame, splitBatch, type ClientFrameInit } from '../server/common/protocol';
import { clientFrameProblem } from '../server/common/validation';
import { EngineHarness } from './helpers/engine-harness';
import { fuzz } from './fuzz/harness';
import { clientBatchBytes, clientFrameBytes, clientFrameInit, wireNumber, wireString } from './fuzz/proto-gen';

const L = DEFAULT_LIMITS;

/** The gateway's edge on one WebSocket message: accepted frames, or the errors it would answer with. */
function gatewayEdge(message: Uint8Array): { accepted: number; refused: number } {
  let frames: Uint8Array[];
  try {
    frames = splitBatch(message, L.batch_frames_max);
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `splitBatch threw ${String(err)}`);
    return { accepted: 0, refused: 1 };
  }
  let accepted = 0;
  let refused = 0;
  for (const bytes of frames) {
    let frame;
    try {
      frame = decodeClientFrame(bytes);
    } catch (err) {
      assert.ok(err instanceof ProtocolError, `decodeClientFrame threw ${String(err)}`);
      refused++;
      continue;
    }
    const problem = clientFrameProblem(frame, L);
    // The chat service's own decoder agrees with the gateway's edge on every frame.
    const inbound = decodeInbound(bytes, L);
    assert.equal(inbound instanceof ProtocolError, problem !== null);
    if (problem) refused++;
    else accepted++;
  }
  return { accepted, refused };
}

describe('fuzz: the gateway edge (split, decode, validate)', () => {
  test('any WebSocket message is split, decoded and validated into frames or ProtocolErrors, never a throw of another kind', async () => {
    await fuzz('gateway-edge', 3000, fc.property(clientBatchBytes, (message) => {
      gatewayEdge(message);
    }));
  });

  test('a valid frame survives encode and decode unchanged in its body type', async () => {
    await fuzz('client-frame-roundtrip', 1000, fc.property(clientFrameInit, (init) => {
      const frame = decodeClientFrame(encodeClientFrame(init));
      const kind = Object.keys(init).find((k) => k !== 'ref');
      assert.equal(frame.body, kind);
    }));
  });
});

describe('fuzz: the chat engine behind the edge', () => {
  let h: EngineHarness;
  let users: number[] = [];
  let chatPool: string[] = [];
  const rejections: unknown[] = [];
  const onRejection = (err: unknown) => rejections.push(err);

  before(async () => {
    process.on('unhandledRejection', onRejection);
    h = await new EngineHarness().start();
    users = [await h.newUser(), await h.newUser(), await h.newUser()];
    for (const u of users) await h.connect(u);
    h.frame(users[0]!, { ref: 1, create_group: { name: 'fuzz', members: [users[1]!, users[2]!] } });
    await h.settle();
    const group = h.log.of('group_info')[0]?.chat.chat_id;
    assert.ok(group, 'the group was created');
    chatPool = [group, directChatId(users[0]!, users[1]!), directChatId(users[1]!, users[2]!), directChatId(users[0]!, users[2]!)];
  });

  after(async () => {
    process.off('unhandledRejection', onRejection);
    await h?.close();
  });

  /** Frames that reach deep: real chat ids and users mixed with hostile values. */
  function deepFrame(): fc.Arbitrary<ClientFrameInit> {
    const chat = fc.oneof(fc.constantFrom(...chatPool), wireString);
    const user = fc.oneof(fc.constantFrom(...users), wireNumber);
    const upTo = fc.oneof(wireNumber, fc.constant(Number.MAX_SAFE_INTEGER), fc.integer({ min: -5, max: 5 }).map((d) => 2 ** 52 + d));
    return fc.oneof(
      fc.record({ ref: fc.nat(), send: fc.record({ to_user: user, client_msg_id: fc.oneof(fc.constantFrom('a', 'b'), wireString), body: fc.uint8Array({ maxLength: 64 }), chat_id: fc.oneof(fc.constant(''), chat) }) }),
      fc.record({ ref: fc.nat(), ack: fc.record({ chat_id: chat, delivered_up_to: upTo, read_up_to: upTo }) }),
      fc.record({ ref: fc.nat(), history: fc.record({ chat_id: chat, before_id: upTo, limit: fc.nat({ max: 2 ** 32 - 1 }) }) }),
      fc.record({ ref: fc.nat(), presence_subscribe: fc.record({ user_ids: fc.array(user, { maxLength: 70 }) }) }),
      fc.record({ ref: fc.nat(), create_group: fc.record({ name: wireString, members: fc.array(user, { maxLength: 260 }) }) }),
      fc.record({ ref: fc.nat(), group_change: fc.record({ chat_id: chat, kind: fc.integer({ min: 0, max: 7 }), users: fc.array(user, { maxLength: 4 }), name: wireString }) }),
      fc.record({ ref: fc.nat(), group_info: fc.record({ chat_id: chat }) }),
      fc.record({ ref: fc.nat(), message_info: fc.record({ chat_id: chat, id: upTo }) }),
    ) as fc.Arbitrary<ClientFrameInit>;
  }

  test('frames of any shape from connected users never break an engine invariant, and the engine keeps serving', async () => {
    const frames = fc.array(fc.tuple(fc.nat({ max: 2 }), fc.oneof(
      { weight: 3, arbitrary: deepFrame().map((f) => encodeClientFrame(f)) },
      { weight: 1, arbitrary: clientFrameBytes },
    )), { minLength: 1, maxLength: 8 });
    let probe = 0;
    await fuzz('chat-engine', 300, fc.asyncProperty(frames, async (list) => {
      for (const [who, bytes] of list) {
        const u = users[who]!;
        h.engine.enqueue(h.link, { kind: 'frame', conn: h.connectionOf(u)!, user: u, frame: bytes, recv_at_us: 1 });
      }
      await h.settle();
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(rejections.map(String), [], 'no tick failed');
      // Still serving: a plain send is stored and acknowledged.
      h.log.clear();
      h.send(users[0]!, users[1]!, 'probe', `probe-${probe++}`);
      await h.settle();
      assert.equal(h.log.of('sent').length, 1, 'the probe send was acknowledged');
      h.log.clear();
    }));
  });
});
