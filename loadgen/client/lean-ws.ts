// LeanWebSocket: a minimal RFC 6455 WebSocket client (ws:// on node:net,
// wss:// on node:tls: see ./ws-handshake.ts for SNI, CA and verification).
//
// Why it exists: the load generator has to drive hundreds of thousands of
// messages/s from a 2-core box, so the number that matters is client CPU per
// message; whatever the client burns is load we cannot put on the server.
// `ws` is correct and general, but each message pays for generality we do not
// need: on send, a frame buffer allocation plus its own socket.write (one
// syscall per message, nothing coalesces sends across a turn); on receive, a
// Writable-stream hop per TCP chunk, a small state machine per frame and two
// EventEmitter dispatches per message. This client keeps only what a binary
// request/response load generator needs, and stays strict on the protocol
// (masking, lengths, fragmentation, control frames, close handshake, limits).
//
// Per-message cost sketch (64-byte binary payload, steady state):
//   send:    ~6 header/key byte stores, 64-byte copy + XOR mask into a shared
//            slab region. No allocation per message; the mask key comes from a
//            64 KiB random pool refilled with one randomFillSync per 16384
//            frames. Per connection per event-loop turn: one Buffer view and
//            one socket.write (one syscall) however many frames were queued.
//   receive: one 'data' event per TCP chunk (usually carrying many frames);
//            per frame a 2-byte header decode, a few checks, one subarray (no
//            copy) and one direct function call. Copies only happen for a
//            frame split across TCP chunks (one concat) or a fragmented
//            message (one concat at the final fragment).
//
// TLS adds the cipher's cost per byte (in OpenSSL, on the same thread) and no
// change to the framing above: the writer's one socket.write per turn becomes
// one TLS record write.
//
// Not supported, on purpose: permessage-deflate and other
// extensions, subprotocol negotiation beyond echo-checking, redirects, proxies.

import type * as net from 'node:net';
import { FrameReader, type FrameSink } from './frame-reader';
import { FrameWriter } from './frame-writer';
import { upgrade, type LeanWsOptions } from './ws-handshake';
import { CloseCode, isValidWireCloseCode, Opcode } from './ws-protocol';

export { LeanWsError, type LeanWsOptions } from './ws-handshake';

const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** After we send a close frame, how long we wait for the server to finish the handshake and drop TCP before destroying the socket. */
const CLOSE_HANDSHAKE_TIMEOUT_MS = 2_000;

const EMPTY = Buffer.alloc(0);

/**
 * One connection: the public API, the close handshake and failing the
 * connection. The bytes are the business of ./frame-reader.ts (receive),
 * ./frame-writer.ts (send) and ./ws-handshake.ts (the upgrade).
 */
export class LeanWebSocket {
  /** Binary messages (text messages are delivered as Buffer too). The Buffer may be a view into a socket chunk: copy it to keep it for long. */
  onmessage: (data: Buffer) => void = () => {};
  /**
   * Called exactly once. Code: ours when we failed the connection (1002, 1007, 1009);
   * else the code of the close frame received from the server (1005 if it had none);
   * else 1006 (TCP ended or errored without a close frame, or our close() handshake timed out).
   */
  onclose: (code: number, reason: string) => void = () => {};

  private readonly socket: net.Socket;
  private readonly reader: FrameReader;
  private readonly writer: FrameWriter;

  // Close state.
  private closeSent = false;
  private closeReceived = false;
  private socketEnded = false;
  private closed = false;
  private failCode = 0;
  private failReason = '';
  private receivedCode: number = CloseCode.NoStatus;
  private receivedReason = '';
  private socketError: Error | null = null;
  private closeTimer: NodeJS.Timeout | null = null;

  private constructor(socket: net.Socket, maxMessageBytes: number) {
    this.socket = socket;
    this.writer = new FrameWriter(socket);
    const sink: FrameSink = {
      message: (data) => this.onmessage(data),
      close: (code, reason) => this.onCloseFrame(code, reason),
      ping: (payload) => {
        if (!this.closeSent) this.writer.write(Opcode.Pong, payload); // same application data, per RFC 5.5.3
      },
      fail: (code, reason) => this.fail(code, reason),
    };
    this.reader = new FrameReader(maxMessageBytes, sink);
  }

  /** Opens a TCP connection and performs the upgrade; resolves once the connection is open. */
  static connect(opts: LeanWsOptions): Promise<LeanWebSocket> {
    const maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    return upgrade(opts, (socket, leftover) => {
      const ws = new LeanWebSocket(socket, maxMessageBytes);
      ws.start(leftover);
      return ws;
    });
  }

  /** Stop reading from the socket (a slow receiver: the server's send buffer for us grows). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Bytes not yet written to the kernel: queued this turn plus buffered in the socket. */
  get bufferedAmount(): number {
    return this.socket.writableLength + this.writer.queuedBytes;
  }

  /** True once the server sent a close frame or ended the TCP connection. */
  get remoteClosed(): boolean {
    return this.closeReceived || this.socketEnded;
  }

  /** Queues one binary message; it leaves with the other frames of this turn. Dropped silently once a close frame was sent (the connection is going away). */
  send(data: Uint8Array): void {
    if (this.closeSent || this.closed) return;
    this.writer.write(Opcode.Binary, data);
  }

  /** Starts the closing handshake. onclose follows when the server answers and drops TCP (or after CLOSE_HANDSHAKE_TIMEOUT_MS). */
  close(code: number = CloseCode.Normal, reason = ''): void {
    if (!isValidWireCloseCode(code)) throw new RangeError(`invalid close code ${code}`);
    if (Buffer.byteLength(reason) > 123) throw new RangeError('close reason longer than 123 bytes');
    if (this.closeSent || this.closed) return;
    this.sendCloseFrame(code, reason);
  }

  // -------------------------------------------------------------------------
  // Lifecycle

  private start(leftover: Buffer): void {
    const socket = this.socket;
    const reader = this.reader;
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('end', () => {
      this.socketEnded = true; // allowHalfOpen is off: node ends our side and 'close' follows
    });
    socket.on('error', (err: Error) => {
      this.socketError = err;
    });
    socket.on('close', () => this.finish());
    // The caller installs onmessage/onclose in the continuation of `await
    // connect()`, a microtask that runs before any later I/O callback. Frames
    // that came in the same chunk as the 101 response are parsed only after
    // that, and the socket stays paused until then to keep their order.
    socket.pause();
    setImmediate(() => {
      if (leftover.length > 0 && !this.closed) reader.push(leftover);
      socket.resume();
    });
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.writer.releaseRegion();
    this.reader.stop();
    let code: number;
    let reason: string;
    if (this.failCode !== 0) {
      code = this.failCode;
      reason = this.failReason;
    } else if (this.closeReceived) {
      code = this.receivedCode;
      reason = this.receivedReason;
    } else {
      code = CloseCode.Abnormal;
      reason = this.socketError?.message ?? '';
    }
    this.onclose(code, reason);
  }

  /** Fails the connection (RFC 6455 7.1.7): send a close frame with `code`, stop reading, end TCP. */
  private fail(code: number, reason: string): void {
    if (this.failCode !== 0 || this.closed) return;
    this.failCode = code;
    this.failReason = reason;
    this.reader.stop();
    if (!this.closeSent) this.sendCloseFrame(code, reason);
    this.writer.endAfterQueued();
  }

  private onCloseFrame(code: number, reason: string): void {
    this.closeReceived = true;
    this.receivedCode = code;
    this.receivedReason = reason;
    this.reader.stop();
    // Echo the code (RFC 5.5.1), then wait for the server to drop TCP.
    if (!this.closeSent) this.sendCloseFrame(code, '');
  }

  private sendCloseFrame(code: number, reason: string): void {
    let payload = EMPTY;
    if (code !== CloseCode.NoStatus) {
      const reasonBytes = Buffer.byteLength(reason);
      payload = Buffer.allocUnsafe(2 + reasonBytes);
      payload.writeUInt16BE(code, 0);
      payload.write(reason, 2);
    }
    this.writer.write(Opcode.Close, payload);
    this.closeSent = true;
    // The server should drop TCP once the handshake is done (so TIME_WAIT sits
    // on its side, not on our ephemeral ports); this timer covers a server
    // that never answers.
    this.closeTimer = setTimeout(() => this.socket.destroy(), CLOSE_HANDSHAKE_TIMEOUT_MS);
  }
}
