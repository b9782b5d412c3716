// LeanWebSocket against raw node:net servers, where we need byte-level
// control: frames split across TCP chunks, the client's masking, close
// frames without TCP close, a server that never answers, connect errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { LeanWebSocket, LeanWsError } from '../loadgen/client/lean-ws';
import { closed, nextMessages, readClientFrames, serverFrame, sleepMs, startRawServer, type ClientFrame } from './helpers/lean-ws-servers';

test('frames split across TCP chunks, fragments with a ping in between, masked client frames', async () => {
  const big = randomBytes(70_000);
  const medium = randomBytes(300);
  const clientFrames: ClientFrame[] = [];
  let onPong: () => void = () => {};
  const gotPong = new Promise<void>((resolve) => (onPong = resolve));
  const server = await startRawServer((socket) => {
    readClientFrames(socket, (frame) => {
      clientFrames.push(frame);
      if (frame.opcode === 0xa) onPong();
    });
    const stream = Buffer.concat([
      serverFrame(0x2, Buffer.from('tiny')),
      serverFrame(0x2, medium),
      serverFrame(0x2, big),
      serverFrame(0x2, Buffer.from('frag-1 '), false),
      serverFrame(0x9, Buffer.from('ping data')), // control frames may sit between fragments
      serverFrame(0x0, Buffer.from('frag-2 '), false),
      serverFrame(0x0, Buffer.from('frag-3'), true),
      serverFrame(0x1, Buffer.from('text ✓')),
    ]);
    // Dribble: the first 40 bytes one at a time (every header boundary of the
    // first frames), then uneven slices, each in its own TCP segment.
    void (async () => {
      let at = 0;
      while (at < stream.length && !socket.destroyed) {
        const sliceBytes = at < 40 ? 1 : at < 80_000 ? 9_999 : 5;
        socket.write(stream.subarray(at, at + sliceBytes));
        at += sliceBytes;
        await sleepMs(2);
      }
    })();
  });
  const ws = await LeanWebSocket.connect({ url: server.url });
  try {
    const messages = await nextMessages(ws, 5);
    assert.equal(messages[0].toString(), 'tiny');
    assert.ok(messages[1].equals(medium));
    assert.ok(messages[2].equals(big));
    assert.equal(messages[3].toString(), 'frag-1 frag-2 frag-3');
    assert.equal(messages[4].toString(), 'text ✓');
    await gotPong;
    const pong = clientFrames.find((f) => f.opcode === 0xa)!;
    assert.equal(pong.payload.toString(), 'ping data');

    // Client frames: masked (checked by the reader), payload round-trips, a fresh key per frame.
    const sent = [Buffer.alloc(5, 1), randomBytes(1000), randomBytes(70_000), Buffer.alloc(0)];
    for (const payload of sent) ws.send(payload);
    while (clientFrames.filter((f) => f.opcode === 0x2).length < sent.length) await sleepMs(5);
    const binary = clientFrames.filter((f) => f.opcode === 0x2);
    binary.forEach((frame, i) => {
      assert.equal(frame.fin, true);
      assert.ok(frame.payload.equals(sent[i]), `client frame ${i} payload differs after unmasking`);
    });
    const keys = new Set(clientFrames.map((f) => f.maskKey.toString('hex')));
    assert.equal(keys.size, clientFrames.length, 'mask keys repeat');
  } finally {
    ws.onclose = () => {};
    await server.close();
  }
});

test('random message sizes cut at random TCP boundaries all arrive intact', async () => {
  const messages: Buffer[] = [];
  for (let i = 0; i < 400; i++) {
    const roll = Math.random();
    messages.push(randomBytes(roll < 0.6 ? Math.floor(Math.random() * 126) : roll < 0.95 ? 126 + Math.floor(Math.random() * 4000) : 65536 + Math.floor(Math.random() * 10_000)));
  }
  const server = await startRawServer((socket) => {
    const stream = Buffer.concat(messages.map((m) => serverFrame(0x2, m)));
    void (async () => {
      for (let at = 0; at < stream.length && !socket.destroyed; ) {
        const sliceBytes = 1 + Math.floor(Math.random() * 3000);
        socket.write(stream.subarray(at, at + sliceBytes));
        at += sliceBytes;
        if (Math.random() < 0.3) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    })();
  });
  const ws = await LeanWebSocket.connect({ url: server.url });
  try {
    const got = await nextMessages(ws, messages.length);
    got.forEach((m, i) => assert.ok(m.equals(messages[i]), `message ${i} (${messages[i].length} B) differs`));
  } finally {
    ws.onclose = () => {};
    await server.close();
  }
});

test('server close frame without TCP close: client echoes it; socket end without close frame gives 1006', async () => {
  let echoedCode = 0;
  const server = await startRawServer((socket) => {
    readClientFrames(socket, (frame) => {
      if (frame.opcode === 0x8) {
        echoedCode = frame.payload.readUInt16BE(0);
        socket.end();
      }
    });
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(1001);
    socket.write(serverFrame(0x8, payload));
  });
  const ws = await LeanWebSocket.connect({ url: server.url });
  assert.deepEqual(await closed(ws), { code: 1001, reason: '' });
  assert.equal(echoedCode, 1001);
  await server.close();

  const dropping = await startRawServer((socket) => setTimeout(() => socket.end(), 10));
  const ws2 = await LeanWebSocket.connect({ url: dropping.url });
  assert.equal((await closed(ws2)).code, 1006);
  assert.equal(ws2.remoteClosed, true);
  await dropping.close();
});

test('close() against a server that never answers ends with 1006 after the handshake timeout', async () => {
  const server = await startRawServer(() => {}); // completes the upgrade, then ignores everything
  const ws = await LeanWebSocket.connect({ url: server.url });
  const startedMs = Date.now();
  const done = closed(ws);
  ws.close(1000);
  assert.equal((await done).code, 1006);
  assert.ok(Date.now() - startedMs >= 1900, 'gave up before the close handshake timeout');
  await server.close();
});

test('a masked server frame is a protocol error (1002)', async () => {
  const server = await startRawServer((socket) => {
    socket.write(Buffer.from([0x82, 0x82, 1, 2, 3, 4, 5, 6]));
  });
  const ws = await LeanWebSocket.connect({ url: server.url });
  assert.equal((await closed(ws)).code, 1002);
  await server.close();
});

test('connect errors: wrong Sec-WebSocket-Accept, timeout, connection refused', async () => {
  const wrong = await startRawServer(() => {}, 'wrong');
  await assert.rejects(LeanWebSocket.connect({ url: wrong.url }), /Sec-WebSocket-Accept/);
  await wrong.close();

  const silent = await startRawServer(() => {}, 'never');
  await assert.rejects(LeanWebSocket.connect({ url: silent.url, connectTimeoutMs: 100 }), /timed out after 100 ms/);
  await silent.close();

  // A port that was just free: bind, read the port, release.
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  await assert.rejects(LeanWebSocket.connect({ url: `ws://127.0.0.1:${port}/` }), (err: LeanWsError) => {
    assert.equal(err.code, 'ECONNREFUSED');
    assert.match(err.message, /refused/);
    return true;
  });

  await assert.rejects(LeanWebSocket.connect({ url: 'http://127.0.0.1:1/' }), /speaks ws:\/\/ and wss:\/\/ only/);
});
