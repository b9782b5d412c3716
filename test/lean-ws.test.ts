// LeanWebSocket against a real uWebSockets.js server (native binary), plus raw
// node:net servers where we need byte-level control: frames split across TCP
// chunks, the client's masking, a server that never answers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import type { TemplatedApp, WebSocketBehavior, us_listen_socket } from 'uWebSockets.js';
import { LeanWebSocket, LeanWsError } from '../loadgen/client/lean-ws';

type Uws = typeof import('uWebSockets.js');

/** The native uWS binary, never the package's pure-JS fallback. */
function loadUws(): Uws {
  const dir = require.resolve('uWebSockets.js/package.json').replace('package.json', '');
  return require(`${dir}binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`) as Uws;
}
const uws = loadUws();

interface UwsServer {
  port: number;
  url: string;
  close(): void;
}

/** A uWS server on 127.0.0.1:<ephemeral>; `requireAuth` refuses upgrades without `authorization: Bearer good` with 401. */
function startUws(behavior: WebSocketBehavior<Record<string, never>>, requireAuth = false): Promise<UwsServer> {
  const app: TemplatedApp = uws.App();
  app.ws<Record<string, never>>('/*', {
    maxPayloadLength: 1024 * 1024,
    idleTimeout: 0,
    upgrade: (res, req, context) => {
      if (requireAuth && req.getHeader('authorization') !== 'Bearer good') {
        res.writeStatus('401 Unauthorized').end('no token');
        return;
      }
      res.upgrade({}, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
    },
    ...behavior,
  });
  return new Promise((resolve, reject) => {
    app.listen('127.0.0.1', 0, (listenSocket: us_listen_socket | false) => {
      if (listenSocket === false) {
        reject(new Error('uWS listen failed'));
        return;
      }
      const port = uws.us_socket_local_port(listenSocket as never);
      resolve({ port, url: `ws://127.0.0.1:${port}/`, close: () => uws.us_listen_socket_close(listenSocket) });
    });
  });
}

const echoBehavior: WebSocketBehavior<Record<string, never>> = {
  message: (ws, message, isBinary) => {
    ws.send(message, isBinary);
  },
};

function closed(ws: LeanWebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    ws.onclose = (code, reason) => resolve({ code, reason });
  });
}

/** Resolves with copies of the next `count` messages. */
function nextMessages(ws: LeanWebSocket, count: number): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    ws.onmessage = (data) => {
      got.push(Buffer.from(data));
      if (got.length === count) resolve(got);
    };
  });
}

async function closeClient(ws: LeanWebSocket): Promise<void> {
  const done = closed(ws);
  ws.close();
  await done;
}

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

// ---------------------------------------------------------------------------
// Raw servers

interface RawServer {
  url: string;
  close(): Promise<void>;
}

/** Completes the upgrade by hand (or not, per `accept`), then hands the socket to `onOpen`. */
function startRawServer(onOpen: (socket: net.Socket) => void, accept: 'valid' | 'wrong' | 'never' = 'valid'): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.setNoDelay(true);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0 || accept === 'never') return;
      socket.off('data', onData);
      const key = /sec-websocket-key: *(\S+)/i.exec(head.toString('latin1', 0, end))![1];
      const acceptValue = accept === 'valid' ? createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64') : 'bm90IHRoZSByaWdodCBvbmU=';
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptValue}\r\n\r\n`);
      onOpen(socket);
    };
    socket.on('data', onData);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        url: `ws://127.0.0.1:${port}/raw`,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** An unmasked server frame. */
function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const n = payload.length;
  const header = n < 126 ? Buffer.alloc(2) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  header[0] = (fin ? 0x80 : 0) | opcode;
  if (n < 126) header[1] = n;
  else if (n < 65536) {
    header[1] = 126;
    header.writeUInt16BE(n, 2);
  } else {
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([header, payload]);
}

interface ClientFrame {
  fin: boolean;
  opcode: number;
  maskKey: Buffer;
  payload: Buffer;
}

/** Decodes masked client frames as they arrive; every client frame must carry the mask bit. */
function readClientFrames(socket: net.Socket, onFrame: (frame: ClientFrame) => void): void {
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      assert.equal(buf[1] & 0x80, 0x80, 'client frame not masked');
      let n = buf[1] & 0x7f;
      let at = 2;
      if (n === 126) {
        if (buf.length < 4) return;
        n = buf.readUInt16BE(2);
        at = 4;
      } else if (n === 127) {
        if (buf.length < 10) return;
        n = Number(buf.readBigUInt64BE(2));
        at = 10;
      }
      if (buf.length < at + 4 + n) return;
      const maskKey = Buffer.from(buf.subarray(at, at + 4));
      const payload = Buffer.from(buf.subarray(at + 4, at + 4 + n));
      for (let i = 0; i < n; i++) payload[i] ^= maskKey[i & 3];
      onFrame({ fin: (buf[0] & 0x80) !== 0, opcode: buf[0] & 0x0f, maskKey, payload });
      buf = buf.subarray(at + 4 + n);
    }
  });
}

const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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

  await assert.rejects(LeanWebSocket.connect({ url: 'wss://127.0.0.1:1/' }), /ws:\/\/ only/);
});
