// LeanWebSocket against a real uWebSockets.js server (native binary): echo
// of every length encoding, one write per turn, buffer reuse, fragmentation,
// ping/pong, a refused upgrade, both close handshakes, the size limit.
// Byte-level cases against raw servers: lean-ws-raw.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { LeanWebSocket, LeanWsError } from '../loadgen/client/lean-ws';
import { closeClient, closed, echoBehavior, nextMessages, startUws } from './helpers/lean-ws-servers';

test('echoes small, medium and large messages (7-, 16- and 64-bit lengths)', async () => {
  const server = await startUws(echoBehavior);
  const ws = await LeanWebSocket.connect({ url: server.url });
  try {
    for (const sizeBytes of [0, 10, 125, 126, 200, 65535, 65536, 70_000]) {
      const payload = randomBytes(sizeBytes);
      const reply = nextMessages(ws, 1);
      ws.send(payload);
      const [echo] = await reply;
      assert.equal(echo.length, sizeBytes);
      assert.ok(echo.equals(payload), `echo of ${sizeBytes} B differs`);
    }
  } finally {
    await closeClient(ws);
    server.close();
  }
});

test('many messages sent in one turn go out in one write and come back in order', async () => {
  const server = await startUws(echoBehavior);
  const ws = await LeanWebSocket.connect({ url: server.url });
  try {
    const count = 2000;
    const payloads: Buffer[] = [];
    let frameBytes = 0;
    for (let i = 0; i < count; i++) {
      // Mostly small, some crossing the 16-bit boundary, one big one: exercises region growth and moves.
      const sizeBytes = i === 1000 ? 200_000 : i % 97 === 0 ? 3000 : 4 + (i % 60);
      const payload = randomBytes(sizeBytes);
      payload.writeUInt32BE(i, 0);
      payloads.push(payload);
      frameBytes += sizeBytes + (sizeBytes < 126 ? 6 : sizeBytes < 65536 ? 8 : 14);
    }
    // White-box: count the writes that reach the TCP socket.
    const socket = (ws as unknown as { socket: net.Socket }).socket;
    const realWrite = socket.write;
    const writtenBytes: number[] = [];
    socket.write = function (this: net.Socket, chunk: Buffer, ...rest: unknown[]) {
      writtenBytes.push(chunk.length);
      return (realWrite as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof socket.write;
    const replies = nextMessages(ws, count);
    for (const payload of payloads) ws.send(payload);
    // Nothing has reached the socket yet: it is all queued for this turn's single write.
    assert.equal(ws.bufferedAmount, frameBytes);
    assert.deepEqual(writtenBytes, []);
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.deepEqual(writtenBytes, [frameBytes]);
    socket.write = realWrite;
    const echoes = await replies;
    for (let i = 0; i < count; i++) assert.ok(echoes[i].equals(payloads[i]), `message ${i} out of order or corrupted`);
  } finally {
    await closeClient(ws);
    server.close();
  }
});

test('a caller reusing its send buffer within the turn does not corrupt earlier frames', async () => {
  const server = await startUws(echoBehavior);
  const ws = await LeanWebSocket.connect({ url: server.url });
  try {
    const scratch = Buffer.alloc(64);
    const replies = nextMessages(ws, 10);
    for (let i = 0; i < 10; i++) {
      scratch.fill(i);
      ws.send(scratch);
    }
    const echoes = await replies;
    for (let i = 0; i < 10; i++) assert.ok(echoes[i].equals(Buffer.alloc(64, i)));
  } finally {
    await closeClient(ws);
    server.close();
  }
});

test('a server-fragmented message is reassembled', async () => {
  const server = await startUws({
    message: (ws) => {
      ws.sendFirstFragment(Buffer.from('hello, '), true);
      ws.sendFragment(Buffer.alloc(300, 'x'));
      ws.sendLastFragment(Buffer.from(' world'));
    },
  });
  const ws = await LeanWebSocket.connect({ url: server.url });
  try {
    const reply = nextMessages(ws, 1);
    ws.send(Buffer.from('go'));
    const [message] = await reply;
    assert.equal(message.toString(), `hello, ${'x'.repeat(300)} world`);
  } finally {
    await closeClient(ws);
    server.close();
  }
});

test('server ping is answered with a pong carrying the same data', async () => {
  let onPong: (data: string) => void = () => {};
  const pong = new Promise<string>((resolve) => (onPong = resolve));
  const server = await startUws({
    open: (ws) => {
      ws.ping('are you there');
    },
    pong: (_ws, message) => onPong(Buffer.from(message).toString()),
  });
  const ws = await LeanWebSocket.connect({ url: server.url });
  try {
    assert.equal(await pong, 'are you there');
  } finally {
    await closeClient(ws);
    server.close();
  }
});

test('upgrade refused with 401 rejects with status 401; the right header gets through', async () => {
  const server = await startUws(echoBehavior, true);
  try {
    await assert.rejects(LeanWebSocket.connect({ url: server.url }), (err: LeanWsError) => {
      assert.equal(err.status, 401);
      assert.match(err.message, /401/);
      return true;
    });
    const ws = await LeanWebSocket.connect({ url: server.url, headers: { authorization: 'Bearer good' } });
    await closeClient(ws);
  } finally {
    server.close();
  }
});

test('server-initiated close reaches onclose with the server code and reason', async () => {
  let serverSawCode = 0;
  const server = await startUws({
    message: (ws) => ws.end(4001, 'see you'),
    close: (_ws, code) => (serverSawCode = code),
  });
  const ws = await LeanWebSocket.connect({ url: server.url });
  try {
    const done = closed(ws);
    ws.send(Buffer.from('bye'));
    assert.deepEqual(await done, { code: 4001, reason: 'see you' });
    assert.equal(ws.remoteClosed, true);
    assert.equal(serverSawCode, 4001);
  } finally {
    server.close();
  }
});

test('client-initiated close completes the handshake with our code', async () => {
  let onServerClose: (code: number) => void = () => {};
  const serverClosed = new Promise<number>((resolve) => (onServerClose = resolve));
  const server = await startUws({ close: (_ws, code) => onServerClose(code) });
  const ws = await LeanWebSocket.connect({ url: server.url });
  try {
    const done = closed(ws);
    ws.close(4002, 'done');
    ws.send(Buffer.from('dropped: after close')); // must not throw
    assert.equal(await serverClosed, 4002);
    assert.equal((await done).code, 4002);
  } finally {
    server.close();
  }
});

test('a message over maxMessageBytes closes the connection with 1009', async () => {
  let onServerClose: (code: number) => void = () => {};
  const serverClosed = new Promise<number>((resolve) => (onServerClose = resolve));
  const server = await startUws({
    message: (ws) => {
      ws.send(Buffer.alloc(2000), true);
    },
    close: (_ws, code) => onServerClose(code),
  });
  const ws = await LeanWebSocket.connect({ url: server.url, maxMessageBytes: 1000 });
  try {
    const done = closed(ws);
    let delivered = 0;
    ws.onmessage = () => delivered++;
    ws.send(Buffer.from('send me something big'));
    assert.equal((await done).code, 1009);
    assert.equal(await serverClosed, 1009);
    assert.equal(delivered, 0);
  } finally {
    server.close();
  }
});
