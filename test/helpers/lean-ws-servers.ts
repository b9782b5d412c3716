// Servers and small helpers for the LeanWebSocket tests: a real
// uWebSockets.js server (the native binary), and raw node:net servers for
// byte-level control (hand-made upgrade, unmasked server frames, a decoder of
// the client's masked frames).
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { createHash } from 'node:crypto';
import type { TemplatedApp, WebSocketBehavior, us_listen_socket } from 'uWebSockets.js';
import type { LeanWebSocket } from '../../loadgen/client/lean-ws';

type Uws = typeof import('uWebSockets.js');

/** The native uWS binary, never the package's pure-JS fallback. */
export function loadUws(): Uws {
  const dir = require.resolve('uWebSockets.js/package.json').replace('package.json', '');
  return require(`${dir}binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`) as Uws;
}
const uws = loadUws();

export interface UwsServer {
  port: number;
  url: string;
  close(): void;
}

/** A uWS server on 127.0.0.1:<ephemeral>; `requireAuth` refuses upgrades without `authorization: Bearer good` with 401. */
export function startUws(behavior: WebSocketBehavior<Record<string, never>>, requireAuth = false): Promise<UwsServer> {
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

export const echoBehavior: WebSocketBehavior<Record<string, never>> = {
  message: (ws, message, isBinary) => {
    ws.send(message, isBinary);
  },
};

export function closed(ws: LeanWebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    ws.onclose = (code, reason) => resolve({ code, reason });
  });
}

/** Resolves with copies of the next `count` messages. */
export function nextMessages(ws: LeanWebSocket, count: number): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    ws.onmessage = (data) => {
      got.push(Buffer.from(data));
      if (got.length === count) resolve(got);
    };
  });
}

export async function closeClient(ws: LeanWebSocket): Promise<void> {
  const done = closed(ws);
  ws.close();
  await done;
}

export interface RawServer {
  url: string;
  close(): Promise<void>;
}

/** Completes the upgrade by hand (or not, per `accept`), then hands the socket to `onOpen`. */
export function startRawServer(onOpen: (socket: net.Socket) => void, accept: 'valid' | 'wrong' | 'never' = 'valid'): Promise<RawServer> {
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
export function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
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

export interface ClientFrame {
  fin: boolean;
  opcode: number;
  maskKey: Buffer;
  payload: Buffer;
}

/** Decodes masked client frames as they arrive; every client frame must carry the mask bit. */
export function readClientFrames(socket: net.Socket, onFrame: (frame: ClientFrame) => void): void {
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

export const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
