// Limits and bad input at the gateway's edge, end to end: a real system
// (chat service + gateway processes on loopback) started once with small
// limits (test/helpers/limits-world.ts), driven by real clients. For every
// refusal we check the exact error code (or close code / HTTP status), that
// nothing was stored or delivered, and that an unrelated, already-connected
// pair of clients is still served afterwards.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChatClient } from '../loadgen/client/chat-client';
import { UpgradeRefused } from '../loadgen/client/transport';
import { directChatId } from '../server/common/chat-id';
import { CloseCode, ErrorCode } from '../server/common/errors';
import { frameBatch, type ClientFrameInit } from '../server/common/protocol';
import { mintToken, newSecret } from '../server/common/token';
import { withTimeout } from '../lib/async';
import { once } from 'node:events';
import WebSocket from 'ws';
import { bodyText, newUserId, text, waitFor } from './helpers/system';
import { errorsOf, fullHistory, isRefusedWith, LIMITS, limitsWorld, messagesOf, nextError, rawFrame, sendFrame, TEST_TIMEOUT_MS, upgradeStatus, WAIT_MS } from './helpers/limits-world';
describe('limits and bad input at the edge: tokens, frames, sizes (one system with small limits)', { timeout: 240_000 }, () => {
  const world = limitsWorld();
  const client = world.client;
  const assertOthersStillServed = world.assertOthersStillServed;

  // ------------------------------------------------------------ 1. tokens

  it('a WebSocket upgrade with a missing, garbage, foreign-signed or expired token is refused with HTTP 401 and creates no user',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const uid = newUserId();
      const url = world.sys.gatewayUrl;
      const attempts: [string, string][] = [
        ['empty bearer token', ''],
        ['garbage token', 'garbage'],
        ['garbage token with a dot', 'Zm9v.YmFy'],
        ['token signed with another secret', mintToken(newSecret(), uid, 3600)],
        ['expired token', mintToken(world.sys.secret, uid, 60, Date.now() - 3600_000)],
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
      assert.equal(await upgradeStatus(url, { authorization: `Basic ${mintToken(world.sys.secret, uid, 3600)}` }), 401, 'not a Bearer header');
      assert.equal(await upgradeStatus(`${url}?token=garbage`, {}), 401, 'garbage token in the query string');
      // Nothing stored: the refused user was never created, so sending to it is UNKNOWN_USER.
      await assert.rejects(world.P.send(uid, text('to a refused user')), isRefusedWith(ErrorCode.UNKNOWN_USER));
      // Control: the same user id with a good token connects.
      assert.equal(await upgradeStatus(url, { authorization: `Bearer ${mintToken(world.sys.secret, uid, 3600)}` }), 101);
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
    const ws = new WebSocket(world.sys.gatewayUrl, { headers: { authorization: `Bearer ${mintToken(world.sys.secret, uid, 3600)}` }, perMessageDeflate: false });
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

});
