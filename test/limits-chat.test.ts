// Limits and bad input that the chat service decides (or the gateway's rate
// limit and registration), end to end, like limits-edge.test.ts: one real
// system with small limits, real clients, exact codes, nothing stored, the
// bystanders still served.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChatClient } from '../loadgen/client/chat-client';
import { directChatId } from '../server/common/chat-id';
import { ErrorCode } from '../server/common/errors';
import { frameBatch } from '../server/common/protocol';
import { startSystem } from '../deploy/local-system';
import { withTimeout } from '../lib/async';
import { bodyText, newUserId, sleep, text, waitFor, type TestClient } from './helpers/system';
import { freshCode } from './helpers/registration';
import { ENV, errorsOf, fullHistory, isRefusedWith, LIMITS, limitsWorld, messagesOf, nextError, postRegister, rawFrame, sendDelivered, sendFrame, TEST_TIMEOUT_MS, WAIT_MS } from './helpers/limits-world';
describe('limits and bad input in the chat service: users, rates, presence, history, queues, registration (one system with small limits)', { timeout: 240_000 }, () => {
  const world = limitsWorld();
  const client = world.client;
  const assertOthersStillServed = world.assertOthersStillServed;

  // ------------------------------------------------------------ 8. unknown user

  it('a send to an unknown user is refused with UNKNOWN_USER and nothing is stored', { timeout: TEST_TIMEOUT_MS }, async () => {
    const A = await client();
    const ghost = newUserId();
    await assert.rejects(A.send(ghost, text('hello ghost')), isRefusedWith(ErrorCode.UNKNOWN_USER));
    // A retry with the same client_msg_id is refused again (no message was remembered under it).
    await assert.rejects(A.send(ghost, text('hello ghost'), 'ghost-1'), isRefusedWith(ErrorCode.UNKNOWN_USER));
    await assert.rejects(A.send(ghost, text('hello ghost'), 'ghost-1'), isRefusedWith(ErrorCode.UNKNOWN_USER));
    await assert.rejects(A.history(directChatId(A.userId, ghost)), isRefusedWith(ErrorCode.NOT_A_PARTICIPANT),
      'no chat was created with the unknown user');
    // The ghost, connecting later, finds nothing waiting.
    const G = await client(ghost);
    await waitFor(() => G.frames.some((f) => f.body === 'drain_done'), WAIT_MS, 'ghost drain');
    const done = G.frames.find((f) => f.body === 'drain_done');
    assert.equal(done?.body === 'drain_done' && done.drain_done.messages, 0);
    assert.equal(messagesOf(G).length, 0);
    await assertOthersStillServed();
  });

  // ------------------------------------------------------------ 9. self send

  it('a send to yourself is refused with SELF_SEND and nothing is stored', { timeout: TEST_TIMEOUT_MS }, async () => {
    const A = await client();
    await assert.rejects(A.send(A.userId, text('note to self')), isRefusedWith(ErrorCode.SELF_SEND));
    await assert.rejects(A.history(directChatId(A.userId, A.userId)), isRefusedWith(ErrorCode.NOT_A_PARTICIPANT));
    assert.equal(messagesOf(A).length, 0);
    await assertOthersStillServed();
  });

  // ------------------------------------------------------------ 10. rate limit

  it("frames beyond the user's token bucket are refused with RATE_LIMITED and dropped; what was accepted is stored",
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const burst = LIMITS.user_frames_burst_max;
      const perBatch = LIMITS.batch_frames_max;
      const batches = burst / perBatch + 2; // 5 batches fit the bucket, 2 do not
      const R = await client();
      // One recipient per batch keeps every recipient under offline_queue_messages_max.
      const T: TestClient[] = [];
      for (let i = 0; i < batches; i++) T.push(await client());
      const mark = R.frames.length;
      for (let i = 0; i < batches; i++) {
        const frames = [sendFrame(100 + i, T[i]!.userId, `rl-${i}`, text(`burst ${i}`))];
        for (let k = 1; k < perBatch; k++) frames.push(rawFrame({ ref: 1000 + i * 10 + k, ping: { client_time_ms: k } }));
        R.sendRaw(frameBatch(frames));
      }
      const accepted = burst / perBatch;
      await waitFor(() => {
        const fs = R.frames.slice(mark);
        return fs.filter((f) => f.body === 'sent').length >= accepted && errorsOf(R, mark).length >= batches - accepted;
      }, WAIT_MS, 'acks and RATE_LIMITED errors');
      await sleep(200); // anything else that was coming would have come by now
      const fs = R.frames.slice(mark);
      const errors = errorsOf(R, mark);
      assert.deepEqual(errors.map((e) => e.code), Array(batches - accepted).fill(ErrorCode.RATE_LIMITED));
      assert.deepEqual(fs.flatMap((f) => (f.body === 'sent' ? [f.sent.ref] : [])).sort((a, b) => a - b),
        Array.from({ length: accepted }, (_, i) => 100 + i), 'the sends of the batches within the bucket are acknowledged');
      assert.equal(fs.filter((f) => f.body === 'pong').length, accepted * (perBatch - 1), 'pings of dropped batches are not answered');
      for (let i = 0; i < accepted; i++) {
        await waitFor(() => messagesOf(T[i]!, R.userId).length > 0, WAIT_MS, `recipient ${i}`);
        assert.deepEqual(messagesOf(T[i]!, R.userId).map((m) => bodyText(m.body)), [`burst ${i}`]);
      }
      for (let i = accepted; i < batches; i++) {
        assert.equal(messagesOf(T[i]!, R.userId).length, 0, `recipient ${i} of a dropped batch got nothing`);
        await assert.rejects(T[i]!.history(directChatId(R.userId, T[i]!.userId)), isRefusedWith(ErrorCode.NOT_A_PARTICIPANT),
          `no chat was created for dropped batch ${i}`);
      }
      assert.equal(R.closed, false, 'rate limiting does not close the connection');
      // The bucket refills (20/s): after a pause the same connection sends again, and its dropped send was never stored.
      await sleep(300);
      const again = await R.send(T[accepted]!.userId, text('after refill'));
      assert.equal(again.seq, 1);
      await waitFor(() => messagesOf(T[accepted]!, R.userId).length > 0, WAIT_MS, 'after refill');
      assert.deepEqual(messagesOf(T[accepted]!, R.userId).map((m) => bodyText(m.body)), ['after refill']);
      await assertOthersStillServed();
    });

  // ------------------------------------------------------------ 11. presence

  it('a presence subscription to more than presence_watch_max users is refused with TOO_MANY_WATCHED and keeps the old watch set',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const A = await client();
      const W = await client();
      await sendDelivered(A, W, 'we share a chat'); // presence is only for users who share a chat
      A.sendRaw(frameBatch([rawFrame({ ref: 0, presence_subscribe: { user_ids: [W.userId] } })]));
      await waitFor(() => A.frames.some((f) => f.body === 'presence' && f.presence.user === W.userId && f.presence.online), WAIT_MS,
        'presence snapshot of W');
      const others = Array.from({ length: LIMITS.presence_watch_max + 1 }, () => newUserId());
      const mark = A.frames.length;
      A.sendRaw(frameBatch([rawFrame({ ref: 31, presence_subscribe: { user_ids: others } })]));
      const err = await nextError(A, mark, 'TOO_MANY_WATCHED');
      assert.equal(err.code, ErrorCode.TOO_MANY_WATCHED);
      assert.equal(err.ref, 31);
      // The refused set was not installed: no snapshot of its users, and W is still watched.
      const closed = W.closedPromise();
      W.close();
      await closed;
      await waitFor(() => A.frames.slice(mark).some((f) => f.body === 'presence' && f.presence.user === W.userId && !f.presence.online),
        WAIT_MS, 'W offline');
      assert.equal(A.frames.some((f) => f.body === 'presence' && others.includes(f.presence.user)), false);
      // presence_watch_max users are fine.
      const three: number[] = [];
      for (let i = 0; i < LIMITS.presence_watch_max; i++) {
        const c = await client();
        await sendDelivered(A, c, `contact ${i}`);
        three.push(c.userId);
      }
      const mark2 = A.frames.length;
      A.sendRaw(frameBatch([rawFrame({ ref: 32, presence_subscribe: { user_ids: three } })]));
      await waitFor(() => A.frames.slice(mark2).filter((f) => f.body === 'presence').length === three.length, WAIT_MS, 'three snapshots');
      assert.equal(errorsOf(A, mark2).length, 0);
      await assertOthersStillServed();
    });

  // ------------------------------------------------------------ 12. history

  it('history of a chat one is not part of is refused with NOT_A_PARTICIPANT; pages are capped at history_page_max',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const A = await client();
      const B = await client();
      const C = await client();
      const total = LIMITS.history_page_max + 2;
      const ids: number[] = [];
      for (let i = 1; i <= total; i++) ids.push(await sendDelivered(A, B, `h${i}`));
      const chatId = directChatId(A.userId, B.userId);
      // An outsider, an existing chat of others, a chat that does not exist: the same answer.
      await assert.rejects(C.history(chatId, 0, 1000), isRefusedWith(ErrorCode.NOT_A_PARTICIPANT));
      await assert.rejects(C.history(directChatId(world.P.userId, world.Q.userId)), isRefusedWith(ErrorCode.NOT_A_PARTICIPANT));
      await assert.rejects(C.history(directChatId(C.userId, newUserId())), isRefusedWith(ErrorCode.NOT_A_PARTICIPANT));
      await assert.rejects(C.history('g.1'), isRefusedWith(ErrorCode.NOT_A_PARTICIPANT));
      // A chat id over chat_id_bytes_max is refused at the edge.
      await assert.rejects(C.history('d.'.padEnd(65, '9')), isRefusedWith(ErrorCode.FIELD_TOO_LONG));
      // Page size: asking for 1000 gets history_page_max, newest first, with a cursor.
      const page1 = await A.history(chatId, 0, 1000);
      assert.equal(page1.chat_id, chatId);
      assert.deepEqual(page1.messages.map((m) => bodyText(m.body)), ['h7', 'h6', 'h5', 'h4', 'h3']);
      assert.equal(page1.next_before_id, page1.messages[page1.messages.length - 1]!.id);
      const page2 = await B.history(chatId, page1.next_before_id, 1000);
      assert.deepEqual(page2.messages.map((m) => bodyText(m.body)), ['h2', 'h1']);
      assert.equal(page2.next_before_id, 0);
      // limit 0 means "the default", which is the cap too.
      assert.equal((await A.history(chatId, 0, 0)).messages.length, LIMITS.history_page_max);
      assert.deepEqual((await fullHistory(B, chatId)).map((m) => m.id), [...ids].reverse());
      await assertOthersStillServed();
    });

  // ------------------------------------------------------------ 13. offline queue

  it('a send to an offline user holding offline_queue_messages_max undelivered messages gets QUEUE_FULL and is not stored; after the user drains, sends work again',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const A = await client();
      const C = await client();
      const B0 = await client();
      const bId = B0.userId;
      // W watches B's presence (they share a chat: presence is only for contacts), so we know when the server has B offline.
      const W = await client();
      await sendDelivered(W, B0, 'hi B');
      W.subscribePresence([bId]);
      await waitFor(() => W.frames.some((f) => f.body === 'presence' && f.presence.user === bId && f.presence.online), WAIT_MS, 'B online');
      B0.close();
      await waitFor(() => W.frames.some((f) => f.body === 'presence' && f.presence.user === bId && !f.presence.online), WAIT_MS, 'B offline');
      const max = LIMITS.offline_queue_messages_max;
      const acks = [];
      for (let i = 1; i <= max; i++) acks.push(await A.send(bId, text(`q${i}`)));
      await assert.rejects(A.send(bId, text('one too many'), 'q-over'), isRefusedWith(ErrorCode.QUEUE_FULL));
      // The queue is per recipient, across chats: another sender is refused too.
      await assert.rejects(C.send(bId, text('from C')), isRefusedWith(ErrorCode.QUEUE_FULL));
      await assert.rejects(C.history(directChatId(C.userId, bId)), isRefusedWith(ErrorCode.NOT_A_PARTICIPANT), 'no chat C-B was created');
      const chatId = acks[0]!.chat_id;
      assert.deepEqual((await fullHistory(A, chatId)).map((m) => bodyText(m.body)), ['q3', 'q2', 'q1']);
      // B connects (auto-acks after 5 ms): it gets exactly the queued messages, then sends work again.
      const B = await client(bId);
      await waitFor(() => B.frames.some((f) => f.body === 'drain_done'), WAIT_MS, 'drain done');
      const done = B.frames.find((f) => f.body === 'drain_done');
      assert.equal(done?.body === 'drain_done' && done.drain_done.messages, max);
      assert.deepEqual(messagesOf(B).map((m) => bodyText(m.body)), ['q1', 'q2', 'q3']);
      assert.ok(messagesOf(B).every((m) => m.replay), 'drained messages are marked replay');
      // Retrying the refused client_msg_id now succeeds as a new message.
      const retry = await A.send(bId, text('one too many'), 'q-over');
      assert.equal(retry.seq, max + 1);
      await waitFor(() => messagesOf(B).length === max + 1, WAIT_MS, 'live delivery after the drain');
      assert.equal(messagesOf(B)[max]!.replay, false);
      await C.send(bId, text('from C'));
      await waitFor(() => messagesOf(B, C.userId).length === 1, WAIT_MS, 'C to B');
      assert.deepEqual((await fullHistory(B, chatId)).map((m) => bodyText(m.body)), ['one too many', 'q3', 'q2', 'q1']);
      await assertOthersStillServed();
    });

  // ------------------------------------------------------------ 14. acks

  it('an ack for a chat one is not a member of gets NOT_A_PARTICIPANT and moves no watermark', { timeout: TEST_TIMEOUT_MS }, async () => {
    const A = await client();
    const chatPQ = directChatId(world.P.userId, world.Q.userId);
    const receiptsBefore = world.P.frames.length + world.Q.frames.length;
    const mark = A.frames.length;
    A.sendRaw(frameBatch([rawFrame({ ref: 61, ack: { chat_id: chatPQ, delivered_up_to: Number.MAX_SAFE_INTEGER, read_up_to: Number.MAX_SAFE_INTEGER } })]));
    const err = await nextError(A, mark, 'ack of a foreign chat');
    assert.equal(err.code, ErrorCode.NOT_A_PARTICIPANT);
    assert.equal(err.ref, 61);
    // Through the client API too (ref 0), and for a chat that does not exist.
    const mark2 = A.frames.length;
    A.ack(directChatId(A.userId, newUserId()), 1, 1);
    const err2 = await nextError(A, mark2, 'ack of a missing chat');
    assert.equal(err2.code, ErrorCode.NOT_A_PARTICIPANT);
    assert.equal(world.P.frames.length + world.Q.frames.length, receiptsBefore, 'the bystanders were told nothing');
    assert.equal([...world.P.frames, ...world.Q.frames].some((f) => f.body === 'receipt' && f.receipt.user === A.userId), false);
    assert.equal(A.closed, false);
    await assertOthersStillServed();
  });

  // ------------------------------------------------------------ 15. registration

  it('POST /v1/register answers 400 to bad JSON, a bad phone or a missing code, 413 to a body over 4096 bytes, and 200 with a working token to a verified one',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const badJson = await postRegister(world.sys, '{"phone": "+1415');
      assert.equal(badJson.status, 400);
      assert.equal(badJson.json?.error, ErrorCode.INVALID_ARGUMENT);
      for (const phone of ['4155550123', '+0123456789', 'abc', '', '+1415555012345678']) {
        const badPhone = await postRegister(world.sys, JSON.stringify({ phone, display_name: 'Ann', code: '123456' }));
        assert.equal(badPhone.status, 400, `phone ${JSON.stringify(phone)}`);
        assert.equal(badPhone.json?.error, ErrorCode.INVALID_ARGUMENT, `phone ${JSON.stringify(phone)}`);
      }
      const badName = await postRegister(world.sys, JSON.stringify({ phone: '+14155550199', display_name: 'x'.repeat(65), code: '123456' }));
      assert.equal(badName.status, 400);
      assert.equal(badName.json?.error, ErrorCode.INVALID_ARGUMENT);
      const noCode = await postRegister(world.sys, JSON.stringify({ phone: '+14155550199', display_name: 'Ann' }));
      assert.equal(noCode.status, 400);
      assert.equal(noCode.json?.error, ErrorCode.MISSING_FIELD);
      const huge = await postRegister(world.sys, JSON.stringify({ phone: '+14155550124', display_name: 'Ann', pad: 'p'.repeat(5000) }));
      assert.equal(huge.status, 413);

      const code = await freshCode(world.sys, '+14155550123');
      const ok = await postRegister(world.sys, JSON.stringify({ phone: '+14155550123', display_name: 'Ann', code }));
      assert.equal(ok.status, 200, ok.raw);
      const userId = ok.json?.user_id as number;
      const token = ok.json?.token as string;
      assert.ok(Number.isSafeInteger(userId) && userId > 0, `user_id ${userId}`);
      assert.equal(typeof token, 'string');
      assert.ok(token.length > 0);
      // The refused registrations stored nothing: the first valid one gets user id 1 in this fresh store.
      assert.equal(userId, 1);
      const ann = await ChatClient.connect({ url: world.sys.gatewayUrl, token, requestTimeoutMs: WAIT_MS });
      try {
        await ann.ping();
        // Others can reach the registered user.
        const sent = await world.P.send(userId, text('hi Ann'));
        assert.equal(sent.chat_id, directChatId(world.P.userId, userId));
      } finally {
        const annClosed = ann.closedPromise();
        ann.close();
        await withTimeout(annClosed, WAIT_MS, 'ann close');
      }
      // The same phone, verified again, is the same user (a second device: test/registration.test.ts); unverified it gets nothing.
      const again = await postRegister(world.sys, JSON.stringify({ phone: '+14155550123', display_name: 'Ann again' }));
      assert.equal(again.status, 400);
      assert.equal(again.json?.token, undefined, 'no token for a phone without its code');
      const code2 = await freshCode(world.sys, '+14155550123');
      const verified = await postRegister(world.sys, JSON.stringify({ phone: '+14155550123', display_name: 'Ann again', code: code2 }));
      assert.equal(verified.status, 200);
      assert.equal(verified.json?.user_id, userId, 'the same phone registers to the same user');
      await assertOthersStillServed();
    });

  it('POST /v1/register with JSON that is not an object (null, a number, a string, an array) answers 400 and the gateway keeps serving',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      for (const body of ['null', '42', '"+14155550123"', '[1,2]', 'true']) {
        const r = await postRegister(world.sys, body);
        assert.equal(r.status, 400, `body ${body}: ${r.raw}`);
        assert.equal(r.json?.error, ErrorCode.INVALID_ARGUMENT, `body ${body}`);
      }
      await assertOthersStillServed();
    });

  // ------------------------------------------------------------ 16. native uWS

  it('GET /healthz reports the native uWS binding and its .node binary', { timeout: TEST_TIMEOUT_MS }, async () => {
    const res = await fetch(`${world.sys.gatewayHttp(0)}/healthz`, { signal: AbortSignal.timeout(WAIT_MS) });
    assert.equal(res.status, 200);
    const health = (await res.json()) as Record<string, unknown>;
    assert.equal(health.uws, 'native');
    assert.equal(typeof health.uws_binary, 'string');
    assert.match(health.uws_binary as string, /\.node$/);
    assert.equal(health.status, 'ok');
    assert.equal(health.chat_link, 'up');
    await assertOthersStillServed();
  });
});

describe('the gateway refuses the pure-JS uWS fallback', () => {
  it('starting the gateway with UWS_USE_FALLBACK=1 fails with an error that names the fallback', { timeout: 30_000 }, async () => {
    await assert.rejects(startSystem({ env: { ...ENV, UWS_USE_FALLBACK: '1' } }), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.match(err.message, /fallback/);
      return true;
    });
  });
});
