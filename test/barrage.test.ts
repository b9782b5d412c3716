// The barrage: hostile input of every kind against a running system (the real
// uWS gateway and chat service as processes, deploy/local-system.ts), then
// proof that both processes are alive and a healthy pair still exchanges a
// message. What is thrown at it, each bounded in count and time, loopback only:
//   - registration bodies that crashed the gateway before (a JSON field that is
//     an object with a "toString" key), then a seeded sample of the HTTP body
//     fuzzer's bodies (wrong JSON shapes, bad UTF-8, raw bytes), oversize bodies;
//   - unauthenticated and malformed upgrades (no token, bad tokens, huge ones);
//   - raw TCP garbage to the gateway and to the chat service's gRPC port;
//   - slow headers (slowloris): connections that dribble a request line;
//   - an authenticated client sending random bytes, the frame fuzzer's batches,
//     a text frame and oversize frames;
//   - the internal stream with a valid peer proof carrying items of hostile
//     shape (a user id past 2^53 ended the chat process before), and without one.
// The seed of the samples is printed: WA_FUZZ_SEED=<seed> replays them.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import WebSocket from 'ws';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { ChatServiceClient, type WireChatBatch, type WireGatewayBatch } from '../server/common/grpc-defs';
import { clientProof, PEER_AUTH_HEADER, peerKey } from '../server/common/peer-auth';
import { mintToken } from '../server/common/token';
import { fuzzSeed } from './fuzz/harness';
import { clientBatchBytes, rawMessage } from './fuzz/proto-gen';
import { bodyText, connectReady, newUserId, sleep, text, waitFor, type TestClient } from './helpers/system';

const WAIT_MS = 5_000;
const SEED = fuzzSeed();

async function post(sys: RunningSystem, body: Uint8Array | string): Promise<number> {
  const res = await fetch(`${sys.gatewayHttp(0)}/v1/register`, { method: 'POST', body, signal: AbortSignal.timeout(WAIT_MS) });
  await res.arrayBuffer();
  return res.status;
}

/** Write `bytes` on a fresh TCP connection, wait for the peer to answer or close (bounded), then drop it. */
function tcpGarbage(port: number, bytes: Uint8Array, waitMs = 300): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const done = () => {
      s.destroy();
      resolve();
    };
    s.on('error', done);
    s.on('close', done);
    s.on('connect', () => s.write(bytes));
    setTimeout(done, waitMs);
  });
}

function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    const timer = setTimeout(() => finish(-1), WAIT_MS);
    const finish = (status: number) => {
      clearTimeout(timer);
      ws.terminate();
      resolve(status);
    };
    ws.once('unexpected-response', (_req, res) => finish(res.statusCode ?? 0));
    ws.once('open', () => finish(101));
    ws.once('error', () => finish(0));
  });
}

/** An authenticated raw `ws` connection, for sending what no well-behaved client would. */
async function rawSocket(sys: RunningSystem, user = newUserId()): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(sys.gatewayUrl, { headers: { authorization: `Bearer ${mintToken(sys.secret, user, 600)}` }, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, closed };
}

describe('the barrage: hostile input of every kind, then the system still serves', () => {
  let sys: RunningSystem;
  let a: TestClient;
  let b: TestClient;

  before(async () => {
    console.log(`barrage samples: seed ${SEED} (replay: WA_FUZZ_SEED=${SEED} node --test dist/test/barrage.test.js)`);
    sys = await startSystem({});
    a = await connectReady(sys);
    b = await connectReady(sys);
  });

  after(async () => {
    a?.close();
    b?.close();
    await sys?.stop();
  });

  /** Both processes run, /healthz says ok, and a -> b delivers. */
  async function assertServing(what: string): Promise<void> {
    assert.equal(sys.chat.child.exitCode, null, `${what}: the chat service is alive (output: ${sys.chat.output.slice(-5).join(' | ')})`);
    assert.equal(sys.gateways[0]!.child.exitCode, null, `${what}: the gateway is alive (output: ${sys.gateways[0]!.output.slice(-5).join(' | ')})`);
    const health = await fetch(`${sys.gatewayHttp(0)}/healthz`, { signal: AbortSignal.timeout(WAIT_MS) }).then((r) => r.json()) as { status: string };
    assert.equal(health.status, 'ok', `${what}: /healthz`);
    const body = `after ${what} ${Date.now()}`;
    await a.send(b.userId, text(body));
    await waitFor(() => b.frames.some((f) => f.body === 'message' && bodyText(f.message.body) === body), WAIT_MS, `${what}: delivery`);
  }

  test('regression: registration bodies whose fields are objects with a "toString" key answer 400 (they ended the gateway)', { timeout: 30_000 }, async () => {
    for (const body of ['{"phone":{"toString":1}}', '{"phone":"+14155550123","display_name":{"toString":1}}', '{"phone":{"valueOf":1,"toString":1}}']) {
      assert.equal(await post(sys, body), 400, body);
    }
    await assertServing('hostile registration fields');
  });

  test('HTTP bodies: wrong JSON shapes, bad UTF-8, raw bytes, oversize bodies', { timeout: 60_000 }, async () => {
    const shapes = fc.sample(fc.oneof(fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'), fc.uint8Array({ maxLength: 200 })), { seed: SEED, numRuns: 150 });
    for (const body of shapes) assert.ok([400, 413].includes(await post(sys, body)), 'a 400 or 413');
    assert.equal(await post(sys, Buffer.from([0x7b, 0x22, 0x70, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])), 400, 'bad UTF-8');
    // An oversize body is answered 413 and the connection closed while the client may still be sending: a client
    // that is still writing can see the reset before the answer (seen once at 1 MB, "fetch failed"). Either way
    // nothing is read past the bound, and assertServing below shows the gateway alive.
    for (const size of [5_000, 1_000_000]) {
      const status = await post(sys, Buffer.alloc(size, 0x20)).catch((err: Error) => (/fetch failed/.test(err.message) ? -1 : Promise.reject(err)));
      assert.ok(status === 413 || (status === -1 && size > 64 * 1024), `${size} bytes: ${status}`);
    }
    // Unknown paths and methods, query strings of garbage.
    for (const path of ['/v1/register?x=%ff%fe', '/%00', '/v1/ws?token=%zz', '/'.repeat(2000)]) {
      const r = await fetch(`${sys.gatewayHttp(0)}${path}`, { method: 'PUT', body: 'x', signal: AbortSignal.timeout(WAIT_MS) });
      await r.arrayBuffer();
      assert.ok(r.status >= 400, `${path}: ${r.status}`);
    }
    await assertServing('HTTP bodies');
  });

  test('unauthenticated and malformed upgrades are refused with 401', { timeout: 30_000 }, async () => {
    const url = sys.gatewayUrl;
    const bad: Record<string, string>[] = [{}, { authorization: 'Bearer ' }, { authorization: 'Bearer x.y' }, { authorization: `Bearer ${'a'.repeat(5000)}` },
      { authorization: `Bearer ${mintToken('another-secret-of-at-least-32-characters', 5, 600)}` }, { authorization: 'Basic Zm9vOmJhcg==' },
      { authorization: `Bearer ${mintToken(sys.secret, 5, -10)}` }];
    for (const headers of bad) assert.equal(await upgradeStatus(url, headers), 401, JSON.stringify(headers).slice(0, 80));
    for (const q of ['?token=', '?token=%ff', `?token=${'.'.repeat(300)}`]) assert.equal(await upgradeStatus(url + q, {}), 401, q);
    await assertServing('unauthenticated upgrades');
  });

  test('raw TCP garbage to the gateway and to the chat service gRPC port', { timeout: 60_000 }, async () => {
    const garbage = fc.sample(fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 2000 }),
      fc.constantFrom('GET / HTTP/1.1\r\nHost: x\r\n' + 'X: y\r\n'.repeat(2000) + '\r\n', 'GET /v1/ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: !!\r\nSec-WebSocket-Version: 99\r\n\r\n',
        'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x01\x00\x00\x00\x00\x00\xff\xff\xff', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03').map((s) => Buffer.from(s, 'latin1'))), { seed: SEED, numRuns: 60 });
    await Promise.all(garbage.map((g) => tcpGarbage(sys.gatewayPorts[0]!, g)));
    await Promise.all(garbage.map((g) => tcpGarbage(sys.chatPort, g)));
    await assertServing('raw TCP garbage');
  });

  test('slow headers (slowloris): 100 connections dribbling a request line do not stop a pair from talking', { timeout: 30_000 }, async () => {
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 100; i++) {
      const s = net.connect(sys.gatewayPorts[0]!, '127.0.0.1');
      s.on('error', () => {});
      sockets.push(s);
    }
    const line = Buffer.from('GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    // 3 s of one byte per connection every 100 ms: bounded; the pair must be served meanwhile.
    const dribble = (async () => {
      for (let i = 0; i < 30; i++) {
        for (const s of sockets) if (!s.destroyed) s.write(line.subarray(i % line.length, (i % line.length) + 1));
        await sleep(100);
      }
    })();
    await sleep(500);
    await assertServing('during slow headers');
    await dribble;
    for (const s of sockets) s.destroy();
    await assertServing('after slow headers');
  });

  test('an authenticated client sending random bytes, fuzzed batches, a text frame and oversize frames', { timeout: 60_000 }, async () => {
    const { ws, closed } = await rawSocket(sys);
    const batches = fc.sample(fc.oneof(clientBatchBytes, rawMessage, fc.uint8Array({ maxLength: 500 })), { seed: SEED, numRuns: 400 });
    let answers = 0;
    ws.on('message', () => answers++);
    for (const m of batches) ws.send(m, { binary: true });
    await waitFor(() => answers > 0, WAIT_MS, 'the gateway answered the hostile batches');
    assert.equal(ws.readyState, WebSocket.OPEN, 'malformed batches get error frames, not a close');
    ws.close();
    await closed;

    const text = await rawSocket(sys);
    text.ws.send('not protobuf');
    assert.equal(await text.closed, 4003, 'a text frame closes with 4003');

    const big = await rawSocket(sys);
    big.ws.send(Buffer.alloc(300 * 1024, 1), { binary: true });
    assert.equal(await big.closed, 1009, 'past frame_bytes_max: 1009');

    const huge = await rawSocket(sys);
    huge.ws.send(Buffer.alloc(2 * 1024 * 1024, 1), { binary: true });
    assert.ok([1006, 1009].includes(await huge.closed), 'far past the limit: dropped');
    await assertServing('hostile frames');
  });

  test('a client that stops reading while others send it 60 KB messages is closed at the backpressure limit; the pair is still served', { timeout: 30_000 }, async () => {
    const closes = async () => ((await fetch(`${sys.gatewayHttp(0)}/healthz`, { signal: AbortSignal.timeout(WAIT_MS) }).then((r) => r.json())) as { backpressure_closes: number }).backpressure_closes;
    const before = await closes();
    const reader = await connectReady(sys);
    reader.pauseReading();
    const senders = [await connectReady(sys), await connectReady(sys)];
    const body = Buffer.alloc(60 * 1024, 0x61);
    // 2 x 100 x 60 KB = 12 MB toward a socket that reads nothing: past the kernel's buffers and the 1 MB limit.
    await Promise.all(senders.map((s) => Promise.all(Array.from({ length: 100 }, () => s.send(reader.userId, body).catch(() => {})))));
    await waitFor(async () => (await closes()) > before, 10_000, 'the gateway closed the reader that never reads');
    for (const s of senders) s.close();
    reader.close();
    await assertServing('a client that never reads');
  });

  test('the internal stream: no peer proof is refused; with one, items of hostile shape are dropped, not fatal', { timeout: 30_000 }, async () => {
    const client = new ChatServiceClient(sys.chatTarget, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      Connect: (md: grpc.Metadata) => grpc.ClientDuplexStream<WireGatewayBatch, WireChatBatch>;
    };
    try {
      const refused = client.Connect(new grpc.Metadata());
      const code = await new Promise<number>((resolve) => {
        refused.on('error', (e: grpc.ServiceError) => resolve(e.code));
        refused.on('data', () => {});
      });
      assert.equal(code, grpc.status.UNAUTHENTICATED);

      const md = new grpc.Metadata();
      md.set(PEER_AUTH_HEADER, clientProof(peerKey(sys.secret), 'barrage').proof);
      const call = client.Connect(md);
      call.on('error', () => {});
      let welcomed = false;
      call.on('data', () => (welcomed = true));
      call.write({ items: [{ conn: 0, user: 0, hello: { gateway_id: 'x'.repeat(500), sessions: [] }, recv_at_us: 0 }], sent_at_us: 0 });
      call.write({ items: [{ conn: 0, user: 0, hello: { gateway_id: 'barrage', sessions: [{ conn: 1, user: 2 ** 64 - 2048 }] }, recv_at_us: 0 }], sent_at_us: 0 });
      await waitFor(() => welcomed, WAIT_MS, 'welcomed after a well-formed hello');
      const hostile = [
        { conn: 7, user: 2 ** 64 - 2048, connected: true, recv_at_us: 0 },
        { conn: 0, user: 5, connected: true, recv_at_us: 0 },
        { conn: 8, user: 2 ** 53 + 2, frame: Buffer.from([1, 2, 3]), recv_at_us: 2 ** 64 - 1 },
        { conn: 9, user: 12345, frame: Buffer.alloc(300 * 1024), recv_at_us: 0 },
        { conn: 9, user: 12345, recv_at_us: 0 },
      ];
      call.write({ items: hostile, sent_at_us: 0 });
      for (const bytes of fc.sample(clientBatchBytes, { seed: SEED, numRuns: 50 })) {
        call.write({ items: [{ conn: 10, user: 4242, frame: bytes, recv_at_us: 0 }], sent_at_us: 0 });
      }
      await sleep(300);
      call.end();
      call.cancel();
    } finally {
      client.close();
    }
    await assertServing('hostile stream items');
  });
});
