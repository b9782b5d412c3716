// Limits and bad input, end to end: a real system (chat service + gateway
// processes on loopback) started once with small limits, driven by real
// clients. For every refusal we check the exact error code (or close code /
// HTTP status), that nothing was stored or delivered, and that an unrelated,
// already-connected pair of clients is still served afterwards.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import { ChatClient, ServerError } from '../loadgen/client/chat-client';
import { UpgradeRefused } from '../loadgen/client/transport';
import { directChatId } from '../server/common/chat-id';
import { CloseCode, ErrorCode } from '../server/common/errors';
import {
  encodeClientFrame,
  frameBatch,
  ReceiptKind,
  type ClientFrameInit,
  type ErrorBody,
  type MessageBody,
} from '../server/common/protocol';
import { mintToken, newSecret } from '../server/common/token';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { bodyText, connectUser, newUserId, sleep, text, waitFor, type TestClient } from './helpers/system';
import { withTimeout } from '../lib/async';

const LIMITS = {
  text_bytes_max: 1000,
  frame_bytes_max: 4096,
  conn_frames_per_second_max: 20,
  conn_frames_burst_max: 20,
  presence_watch_max: 3,
  history_page_max: 5,
  offline_queue_messages_max: 3,
  batch_frames_max: 4,
  client_msg_id_bytes_max: 16,
};
const ENV: Record<string, string> = Object.fromEntries(
  Object.entries(LIMITS).map(([k, v]) => [`WA_${k.toUpperCase()}`, String(v)]),
);

const TEST_TIMEOUT_MS = 20_000;
const WAIT_MS = 5_000;

// ---------------------------------------------------------------- helpers

function isRefusedWith(code: string): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof ServerError, `expected a ServerError ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

function errorsOf(c: TestClient, since = 0): ErrorBody[] {
  return c.frames.slice(since).flatMap((f) => (f.body === 'error' ? [f.error] : []));
}

function messagesOf(c: TestClient, fromUser?: number): MessageBody[] {
  return c.frames.flatMap((f) => (f.body === 'message' && (fromUser === undefined || f.message.from_user === fromUser) ? [f.message] : []));
}

/** Waits for the first Error frame received after frame index `since`. */
async function nextError(c: TestClient, since: number, what: string): Promise<ErrorBody> {
  await waitFor(() => errorsOf(c, since).length > 0, WAIT_MS, what);
  return errorsOf(c, since)[0]!;
}

function sendFrame(ref: number, to: number, cmid: string, body: Uint8Array): Uint8Array {
  return encodeClientFrame({ ref, send: { to_user: to, client_msg_id: cmid, body } });
}

function rawFrame(f: ClientFrameInit): Uint8Array {
  return encodeClientFrame(f);
}

/** Sends and waits until the recipient has received and acknowledged it (so its unacked count is back to 0). */
async function sendDelivered(from: TestClient, to: TestClient, body: string): Promise<number> {
  const sent = await from.send(to.userId, text(body));
  await waitFor(() => messagesOf(to).some((m) => m.id === sent.id), WAIT_MS, `delivery of "${body}"`);
  await waitFor(
    () => from.frames.some((f) => f.body === 'receipt' && f.receipt.user === to.userId && f.receipt.kind === ReceiptKind.DELIVERED
      && f.receipt.chat_id === sent.chat_id && f.receipt.up_to_id >= sent.id),
    WAIT_MS, `delivered receipt for "${body}"`,
  );
  return sent.id;
}

/** Every message of a chat, newest first, following the history cursor. */
async function fullHistory(c: TestClient, chatId: string): Promise<MessageBody[]> {
  const all: MessageBody[] = [];
  let before = 0;
  for (let pages = 0; pages < 100; pages++) {
    const page = await c.history(chatId, before, 1000);
    all.push(...page.messages);
    if (page.next_before_id === 0) return all;
    before = page.next_before_id;
  }
  throw new Error('history did not end');
}

/** HTTP status of a WebSocket upgrade attempt with the `ws` package (any headers, including none). */
async function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  const ws = new WebSocket(url, { headers, perMessageDeflate: false });
  try {
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no upgrade answer')), WAIT_MS);
      ws.once('unexpected-response', (_req, res) => {
        clearTimeout(timer);
        resolve(res.statusCode ?? 0);
      });
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(101);
      });
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  } finally {
    ws.terminate();
  }
}


async function postRegister(sys: RunningSystem, body: string): Promise<{ status: number; json: Record<string, unknown> | null; raw: string }> {
  const res = await fetch(`${sys.gatewayHttp(0)}/v1/register`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(WAIT_MS),
  });
  const raw = await res.text();
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    // not JSON (413 answers in plain text)
  }
  return { status: res.status, json, raw };
}

// ---------------------------------------------------------------- the system

describe('limits and bad input (one system with small limits)', { timeout: 240_000 }, () => {
  let sys: RunningSystem;
  /** The bystanders: connected before anything bad happens, checked after every case. */
  let P: TestClient;
  let Q: TestClient;
  const clients: TestClient[] = [];
  let controlN = 0;

  async function client(userId?: number, opts: Parameters<typeof connectUser>[2] = {}): Promise<TestClient> {
    const c = await connectUser(sys, userId, { requestTimeoutMs: WAIT_MS, ...opts });
    clients.push(c);
    return c;
  }

  /** The server keeps serving others: the bystander pair still exchanges messages both ways. */
  async function assertOthersStillServed(): Promise<void> {
    assert.equal(P.closed, false, 'bystander P is still connected');
    assert.equal(Q.closed, false, 'bystander Q is still connected');
    const n = ++controlN;
    await sendDelivered(P, Q, `control ${n} P->Q`);
    await sendDelivered(Q, P, `control ${n} Q->P`);
    const health = await sys.health(0);
    assert.equal(health.chat_link, 'up');
  }

  before(async () => {
    sys = await startSystem({ env: ENV });
    P = await client();
    Q = await client();
    await assertOthersStillServed();
  });

  after(async () => {
    for (const c of clients) c.close();
    if (sys) await sys.stop();
  });

  // ------------------------------------------------------------ 1. tokens

  it('a WebSocket upgrade with a missing, garbage, foreign-signed or expired token is refused with HTTP 401 and creates no user',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const uid = newUserId();
      const url = sys.gatewayUrl;
      const attempts: [string, string][] = [
        ['empty bearer token', ''],
        ['garbage token', 'garbage'],
        ['garbage token with a dot', 'Zm9v.YmFy'],
        ['token signed with another secret', mintToken(newSecret(), uid, 3600)],
        ['expired token', mintToken(sys.secret, uid, 60, Date.now() - 3600_000)],
      ];
      for (const [what, token] of attempts) {
        for (const kind of ['lean', 'ws'] as const) {
          await assert.rejects(ChatClient.connect({ url, token, kind, connectTimeoutMs: WAIT_MS }), (err: unknown) => {
            assert.ok(err instanceof UpgradeRefused, `${what} (${kind}): expected UpgradeRefused, got ${String(err)}`);
            assert.equal(err.status, 401, `${what} (${kind})`);
            return true;
          });
        }
      }
      assert.equal(await upgradeStatus(url, {}), 401, 'no authorization header at all');
      assert.equal(await upgradeStatus(url, { authorization: `Basic ${mintToken(sys.secret, uid, 3600)}` }), 401, 'not a Bearer header');
      assert.equal(await upgradeStatus(`${url}?token=garbage`, {}), 401, 'garbage token in the query string');
      // Nothing stored: the refused user was never created, so sending to it is UNKNOWN_USER.
      await assert.rejects(P.send(uid, text('to a refused user')), isRefusedWith(ErrorCode.UNKNOWN_USER));
      // Control: the same user id with a good token connects.
      assert.equal(await upgradeStatus(url, { authorization: `Bearer ${mintToken(sys.secret, uid, 3600)}` }), 101);
      await assertOthersStillServed();
    });

  // ------------------------------------------------------------ 2. malformed frames

  it('bytes that are not a batch, or a batch holding an undecodable frame, get MALFORMED_FRAME and the connection stays open',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const A = await client();
      const B = await client();
      const cases: [string, Uint8Array][] = [
        ['random bytes that are not a batch', Buffer.from([0xff, 0x00, 0x13, 0x37, 0x42])],
        ['a batch entry whose length runs past the end', Buffer.from([0x0a, 0x05, 0x08])],
        ['a batch whose length varint never ends', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
        ['a valid batch wrapping a truncated frame', frameBatch([Buffer.from([0x12, 0x7f, 0x08])])],
        ['a valid batch wrapping a frame with an invalid wire type', frameBatch([Buffer.from([0x7f, 0x01])])],
      ];
      for (const [what, bytes] of cases) {
        const mark = A.frames.length;
        A.sendRaw(bytes);
        const err = await nextError(A, mark, what);
        assert.equal(err.code, ErrorCode.MALFORMED_FRAME, what);
        assert.equal(err.ref, 0, what);
        assert.equal(A.closed, false, `${what}: connection stays open`);
      }
      // A batch that is malformed after a valid send frame is refused as a whole: the send is not stored.
      const mark = A.frames.length;
      A.sendRaw(Buffer.concat([frameBatch([sendFrame(41, B.userId, 'mal-1', text('before garbage'))]), Buffer.from([0xff])]));
      assert.equal((await nextError(A, mark, 'trailing garbage')).code, ErrorCode.MALFORMED_FRAME);
      await A.ping();
      // Nothing stored: B's first message from A is the marker, and history holds only it.
      const marker = await A.send(B.userId, text('marker'));
      await waitFor(() => messagesOf(B, A.userId).length > 0, WAIT_MS, 'marker');
      assert.deepEqual(messagesOf(B, A.userId).map((m) => bodyText(m.body)), ['marker']);
      assert.deepEqual((await fullHistory(A, marker.chat_id)).map((m) => bodyText(m.body)), ['marker']);
      assert.equal(A.frames.some((f) => f.body === 'sent' && f.sent.ref === 41), false, 'no SentAck for the dropped send');
      await assertOthersStillServed();
    });

  it('a frame with no body, or with only an unknown field number, gets UNKNOWN_TYPE and the connection stays open',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const A = await client();
      const cases: [string, Uint8Array][] = [
        ['a ClientFrame with a ref and no body', rawFrame({ ref: 7 } as ClientFrameInit)],
        ['an empty ClientFrame', new Uint8Array(0)],
        ['only field 15 (varint)', Buffer.from([0x78, 0x01])],
        ['only field 15 (bytes)', Buffer.from([0x7a, 0x02, 0x68, 0x69])],
      ];
      for (const [what, frame] of cases) {
        const mark = A.frames.length;
        A.sendRaw(frameBatch([frame]));
        const err = await nextError(A, mark, what);
        assert.equal(err.code, ErrorCode.UNKNOWN_TYPE, what);
        assert.equal(A.closed, false, `${what}: connection stays open`);
      }
      // A bad frame does not spoil the good frames beside it in the same batch.
      const mark = A.frames.length;
      A.sendRaw(frameBatch([Buffer.from([0x78, 0x01]), rawFrame({ ref: 901, ping: { client_time_ms: 1 } })]));
      await waitFor(() => A.frames.slice(mark).some((f) => f.body === 'pong' && f.pong.ref === 901), WAIT_MS, 'pong beside the bad frame');
      assert.deepEqual(errorsOf(A, mark).map((e) => e.code), [ErrorCode.UNKNOWN_TYPE]);
      await A.ping();
      await assertOthersStillServed();
    });

  it('an UNKNOWN_TYPE error echoes the ref of the frame that caused it (client.proto: Error replies carry the ref)', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const A = await client();
    const mark = A.frames.length;
    A.sendRaw(frameBatch([rawFrame({ ref: 7 } as ClientFrameInit)]));
    const err = await nextError(A, mark, 'UNKNOWN_TYPE');
    assert.equal(err.code, ErrorCode.UNKNOWN_TYPE);
    assert.equal(err.ref, 7);
  });

  // ------------------------------------------------------------ 3. text frames

  it('a text (non-binary) WebSocket message closes the connection with 4003', { timeout: TEST_TIMEOUT_MS }, async () => {
    const uid = newUserId();
    const ws = new WebSocket(sys.gatewayUrl, { headers: { authorization: `Bearer ${mintToken(sys.secret, uid, 3600)}` }, perMessageDeflate: false });
    try {
      await withTimeout(once(ws, 'open'), WAIT_MS, 'open');
      const closed = once(ws, 'close') as Promise<[number, Buffer]>;
      ws.send('{"send":{"to_user":1}}');
      const [code] = await withTimeout(closed, WAIT_MS, 'close after a text frame');
      assert.equal(code, CloseCode.TEXT_FRAME);
    } finally {
      ws.terminate();
    }
    await assertOthersStillServed();
  });

  // ------------------------------------------------------------ 4. oversize WS messages

  /** Four valid max-size sends to `to` in one batch: every frame is within limits, the WS message is not. */
  function oversizeBatch(to: number): Uint8Array {
    const frames = [1, 2, 3, 4].map((i) => sendFrame(i, to, `big-${i}`.padEnd(16, 'x'), Buffer.alloc(LIMITS.text_bytes_max, 0x61 + i)));
    const batch = frameBatch(frames);
    assert.ok(batch.length > LIMITS.frame_bytes_max, `precondition: ${batch.length} bytes > frame_bytes_max`);
    return batch;
  }

  it('a WebSocket message over frame_bytes_max closes the connection and stores none of its sends',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const A = await client();
      const B = await client();
      const closed = A.closedPromise();
      A.sendRaw(oversizeBatch(B.userId));
      const code = await withTimeout(closed, WAIT_MS, 'close after an oversize message');
      assert.equal(code, CloseCode.MESSAGE_TOO_BIG);
      assert.equal(A.frames.some((f) => f.body === 'sent'), false, 'no SentAck');
      // Nothing stored: the same user reconnects; B's first message from it is the marker.
      const A2 = await client(A.userId);
      const marker = await A2.send(B.userId, text('after oversize'));
      await waitFor(() => messagesOf(B, A.userId).length > 0, WAIT_MS, 'marker');
      assert.deepEqual(messagesOf(B, A.userId).map((m) => bodyText(m.body)), ['after oversize']);
      assert.deepEqual((await fullHistory(A2, marker.chat_id)).map((m) => bodyText(m.body)), ['after oversize']);
      await assertOthersStillServed();
    });

  // ------------------------------------------------------------ 5. text too long

  it('a message body over text_bytes_max is refused with TEXT_TOO_LONG, not stored and not delivered; text_bytes_max itself is accepted',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const A = await client();
      const B = await client();
      await assert.rejects(A.send(B.userId, Buffer.alloc(LIMITS.text_bytes_max + 1, 0x7a)), isRefusedWith(ErrorCode.TEXT_TOO_LONG));
      const ok = await A.send(B.userId, Buffer.alloc(LIMITS.text_bytes_max, 0x6f));
      await waitFor(() => messagesOf(B, A.userId).length > 0, WAIT_MS, 'the max-size message');
      const got = messagesOf(B, A.userId);
      assert.equal(got.length, 1);
      assert.equal(got[0]!.id, ok.id);
      assert.equal(got[0]!.body.length, LIMITS.text_bytes_max);
      const hist = await fullHistory(A, ok.chat_id);
      assert.deepEqual(hist.map((m) => m.id), [ok.id], 'history holds only the accepted message');
      assert.equal(hist[0]!.seq, 1, 'the refused message took no sequence number');
      await assertOthersStillServed();
    });

  // ------------------------------------------------------------ 6. fields

  it('a client_msg_id over client_msg_id_bytes_max gets FIELD_TOO_LONG; a missing client_msg_id or to_user gets MISSING_FIELD; none is stored',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const A = await client();
      const B = await client();
      const max = LIMITS.client_msg_id_bytes_max;
      await assert.rejects(A.send(B.userId, text('long id'), 'L'.repeat(max + 1)), isRefusedWith(ErrorCode.FIELD_TOO_LONG));
      // The limit is in bytes, not characters: 9 two-byte characters are 18 bytes.
      await assert.rejects(A.send(B.userId, text('long utf8 id'), 'é'.repeat(9)), isRefusedWith(ErrorCode.FIELD_TOO_LONG));
      await assert.rejects(A.send(B.userId, text('no id'), ''), isRefusedWith(ErrorCode.MISSING_FIELD));
      await assert.rejects(A.send(0, text('no recipient')), isRefusedWith(ErrorCode.MISSING_FIELD));
      // to_user absent from the wire entirely (not just 0).
      const mark = A.frames.length;
      A.sendRaw(frameBatch([rawFrame({ ref: 77, send: { client_msg_id: 'no-to-user', body: text('no recipient field') } })]));
      const err = await nextError(A, mark, 'send without to_user');
      assert.equal(err.code, ErrorCode.MISSING_FIELD);
      assert.equal(err.ref, 77);
      // Exactly max bytes is fine.
      const ok = await A.send(B.userId, text('exact id'), 'E'.repeat(max));
      await waitFor(() => messagesOf(B, A.userId).length > 0, WAIT_MS, 'the accepted message');
      assert.deepEqual(messagesOf(B, A.userId).map((m) => bodyText(m.body)), ['exact id']);
      const hist = await fullHistory(A, ok.chat_id);
      assert.deepEqual(hist.map((m) => m.client_msg_id), ['E'.repeat(max)]);
      await assertOthersStillServed();
    });

  // ------------------------------------------------------------ 7. batch size

  it('a batch of more than batch_frames_max frames is refused whole with BATCH_TOO_LARGE; batch_frames_max frames are fine',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const A = await client();
      const B = await client();
      const max = LIMITS.batch_frames_max;
      const frames = Array.from({ length: max + 1 }, (_, i) => sendFrame(10 + i, B.userId, `bt-${i}`, text(`batch ${i}`)));
      const mark = A.frames.length;
      A.sendRaw(frameBatch(frames));
      const err = await nextError(A, mark, 'BATCH_TOO_LARGE');
      assert.equal(err.code, ErrorCode.BATCH_TOO_LARGE);
      assert.equal(errorsOf(A, mark).length, 1, 'one error for the whole batch');
      // batch_frames_max frames in one batch are all processed.
      const pings = Array.from({ length: max }, (_, i) => rawFrame({ ref: 500 + i, ping: { client_time_ms: i } }));
      const mark2 = A.frames.length;
      A.sendRaw(frameBatch(pings));
      await waitFor(() => A.frames.slice(mark2).filter((f) => f.body === 'pong').length === max, WAIT_MS, 'all pongs');
      assert.equal(A.closed, false);
      // Nothing stored: the chat does not even exist yet (no send of the batch got through).
      await assert.rejects(A.history(directChatId(A.userId, B.userId)), isRefusedWith(ErrorCode.NOT_A_PARTICIPANT));
      assert.equal(A.frames.some((f) => f.body === 'sent'), false, 'no SentAck');
      const marker = await A.send(B.userId, text('after batch'));
      await waitFor(() => messagesOf(B, A.userId).length > 0, WAIT_MS, 'marker');
      assert.deepEqual(messagesOf(B, A.userId).map((m) => bodyText(m.body)), ['after batch']);
      assert.equal(marker.seq, 1);
      await assertOthersStillServed();
    });

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

  it('frames beyond the connection token bucket are refused with RATE_LIMITED and dropped; what was accepted is stored',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const burst = LIMITS.conn_frames_burst_max;
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
      const mark2 = A.frames.length;
      const three = others.slice(0, LIMITS.presence_watch_max);
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
      await assert.rejects(C.history(directChatId(P.userId, Q.userId)), isRefusedWith(ErrorCode.NOT_A_PARTICIPANT));
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
      // C watches B's presence, so we know when the server has B offline.
      C.subscribePresence([bId]);
      await waitFor(() => C.frames.some((f) => f.body === 'presence' && f.presence.user === bId && f.presence.online), WAIT_MS, 'B online');
      B0.close();
      await waitFor(() => C.frames.some((f) => f.body === 'presence' && f.presence.user === bId && !f.presence.online), WAIT_MS, 'B offline');
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
    const chatPQ = directChatId(P.userId, Q.userId);
    const receiptsBefore = P.frames.length + Q.frames.length;
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
    assert.equal(P.frames.length + Q.frames.length, receiptsBefore, 'the bystanders were told nothing');
    assert.equal([...P.frames, ...Q.frames].some((f) => f.body === 'receipt' && f.receipt.user === A.userId), false);
    assert.equal(A.closed, false);
    await assertOthersStillServed();
  });

  // ------------------------------------------------------------ 15. registration

  it('POST /v1/register answers 400 to bad JSON or a bad phone, 413 to a body over 4096 bytes, and 200 with a working token to a valid one',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const badJson = await postRegister(sys, '{"phone": "+1415');
      assert.equal(badJson.status, 400);
      assert.equal(badJson.json?.error, ErrorCode.INVALID_ARGUMENT);
      for (const phone of ['4155550123', '+0123456789', 'abc', '', '+1415555012345678']) {
        const badPhone = await postRegister(sys, JSON.stringify({ phone, display_name: 'Ann' }));
        assert.equal(badPhone.status, 400, `phone ${JSON.stringify(phone)}`);
        assert.equal(badPhone.json?.error, ErrorCode.INVALID_ARGUMENT, `phone ${JSON.stringify(phone)}`);
      }
      const badName = await postRegister(sys, JSON.stringify({ phone: '+14155550199', display_name: 'x'.repeat(65) }));
      assert.equal(badName.status, 400);
      assert.equal(badName.json?.error, ErrorCode.INVALID_ARGUMENT);
      const huge = await postRegister(sys, JSON.stringify({ phone: '+14155550124', display_name: 'Ann', pad: 'p'.repeat(5000) }));
      assert.equal(huge.status, 413);

      const ok = await postRegister(sys, JSON.stringify({ phone: '+14155550123', display_name: 'Ann' }));
      assert.equal(ok.status, 200, ok.raw);
      const userId = ok.json?.user_id as number;
      const token = ok.json?.token as string;
      assert.ok(Number.isSafeInteger(userId) && userId > 0, `user_id ${userId}`);
      assert.equal(typeof token, 'string');
      assert.ok(token.length > 0);
      // The refused registrations stored nothing: the first valid one gets user id 1 in this fresh store.
      assert.equal(userId, 1);
      const ann = await ChatClient.connect({ url: sys.gatewayUrl, token, requestTimeoutMs: WAIT_MS });
      try {
        await ann.ping();
        // Others can reach the registered user.
        const sent = await P.send(userId, text('hi Ann'));
        assert.equal(sent.chat_id, directChatId(P.userId, userId));
      } finally {
        const annClosed = ann.closedPromise();
        ann.close();
        await withTimeout(annClosed, WAIT_MS, 'ann close');
      }
      const again = await postRegister(sys, JSON.stringify({ phone: '+14155550123', display_name: 'Ann again' }));
      assert.equal(again.status, 200);
      assert.equal(again.json?.user_id, userId, 'the same phone registers to the same user');
      await assertOthersStillServed();
    });

  // ------------------------------------------------------------ 16. native uWS

  it('GET /healthz reports the native uWS binding and its .node binary', { timeout: TEST_TIMEOUT_MS }, async () => {
    const res = await fetch(`${sys.gatewayHttp(0)}/healthz`, { signal: AbortSignal.timeout(WAIT_MS) });
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
