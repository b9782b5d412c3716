// LeanWebSocket: a minimal RFC 6455 WebSocket client (ws:// only) on node:net.
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
// Not supported, on purpose: TLS (wss://), permessage-deflate and other
// extensions, subprotocol negotiation beyond echo-checking, redirects, proxies.

import * as net from 'node:net';
import { isUtf8 } from 'node:buffer';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { TurnBatcher } from '../../lib/turn-batcher';

export interface LeanWsOptions {
  url: string;
  headers?: Record<string, string>;
  localAddress?: string;
  connectTimeoutMs?: number;
  maxMessageBytes?: number;
}

/** Error raised by LeanWebSocket.connect. `status` is set when the server answered the upgrade with a non-101 HTTP status. */
export class LeanWsError extends Error {
  status?: number;
  code?: string;
  constructor(message: string, fields: { status?: number; code?: string; cause?: unknown } = {}) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = 'LeanWsError';
    if (fields.status !== undefined) this.status = fields.status;
    if (fields.code !== undefined) this.code = fields.code;
  }
}

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** After we send a close frame, how long we wait for the server to finish the handshake and drop TCP before destroying the socket. */
const CLOSE_HANDSHAKE_TIMEOUT_MS = 2_000;
/** An upgrade response header bigger than this is not a WebSocket server. */
const UPGRADE_RESPONSE_BYTES_MAX = 16 * 1024;

const OPCODE_CONTINUATION = 0x0;
const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;
const OPCODE_PONG = 0xa;

const CLOSE_NORMAL = 1000;
const CLOSE_PROTOCOL_ERROR = 1002;
const CLOSE_NO_STATUS = 1005;
const CLOSE_ABNORMAL = 1006;
const CLOSE_INVALID_PAYLOAD = 1007;
const CLOSE_MESSAGE_TOO_BIG = 1009;

const EMPTY = Buffer.alloc(0);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------
// Mask keys: one randomFillSync per MASK_POOL_BYTES / 4 frames instead of a
// crypto call per frame. Keys stay unpredictable (CSPRNG), which is what the
// RFC asks for (it protects intermediaries from cache poisoning).
const MASK_POOL_BYTES = 64 * 1024;
const maskPool = Buffer.allocUnsafeSlow(MASK_POOL_BYTES);
let maskPoolOffset = MASK_POOL_BYTES;

// ---------------------------------------------------------------------------
// Outgoing frames are written straight into regions of a shared slab (masked
// while copying), so a send allocates nothing. A connection owns one region per
// event-loop turn; the flush hands region bytes to socket.write and never
// touches them again (the socket keeps a reference until the kernel has them),
// and gives the unused tail back to the slab when it was the last region.
// Each slab has an Int32Array view so masking XORs 32-bit words.
// Slab size trade-off: a write still queued in a stalled socket pins its whole
// slab, so slabs stay small (64 KiB); at 30 MB/s of frames that is still only
// ~500 slab allocations per second.
const SEND_SLAB_BYTES = 64 * 1024;
/** Regions larger than this get a slab of their own rather than wasting the shared one. */
const DEDICATED_REGION_BYTES = SEND_SLAB_BYTES / 4;
const MIN_REGION_BYTES = 256;
/** Cap on the region size a connection pre-reserves based on its previous turn. */
const REGION_HINT_BYTES_MAX = DEDICATED_REGION_BYTES;
/** Payloads shorter than this are masked with a plain byte loop (set() + word setup would cost more). */
const WORD_MASK_MIN_BYTES = 32;

class SendSlab {
  readonly bytes: Buffer;
  readonly words: Int32Array;
  readonly sizeBytes: number;
  usedBytes = 0;
  constructor(sizeBytes: number) {
    this.sizeBytes = sizeBytes;
    // allocUnsafeSlow: own ArrayBuffer at byteOffset 0, so byte offset >> 2 is the word index.
    this.bytes = Buffer.allocUnsafeSlow(sizeBytes);
    this.words = new Int32Array(this.bytes.buffer, 0, sizeBytes >>> 2);
  }
}

let sharedSlab: SendSlab | null = null;

function align8(n: number): number {
  return (n + 7) & ~7;
}

// One nextTick flushes every connection that queued frames this turn: ticks
// run right after the current I/O callback, so frames sent while handling one
// TCP chunk leave in one write, with no added latency.
const flushQueue = new TurnBatcher<LeanWebSocket>((queue) => {
  for (let i = 0; i < queue.length; i++) queue[i].flushOut();
}, process.nextTick);

function scheduleFlush(ws: LeanWebSocket): void {
  flushQueue.push(ws);
}

/** Close codes an endpoint may put on the wire (RFC 6455 7.4, IANA registry). */
function isValidWireCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

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
  private readonly maxMessageBytes: number;

  // Receive state.
  private readonly rxPending: Buffer[] = []; // bytes of an incomplete frame, across chunks
  private rxPendingBytes = 0;
  private rxNeedBytes = 0; // do not re-parse until this many bytes are pending
  private fragOpcode = 0; // opcode of the fragmented message in progress, 0 = none
  private fragParts: Buffer[] = [];
  private fragBytes = 0;

  // Send state: current region [outStart, outEnd) of outSlab, writable up to outLimit.
  private outSlab: SendSlab | null = null;
  private outStart = 0;
  private outEnd = 0;
  private outLimit = 0;
  private regionHintBytes = MIN_REGION_BYTES;
  private endAfterFlush = false;

  // Close state.
  private closeSent = false;
  private closeReceived = false;
  private socketEnded = false;
  private closed = false;
  private failCode = 0;
  private failReason = '';
  private receivedCode = CLOSE_NO_STATUS;
  private receivedReason = '';
  private socketError: Error | null = null;
  private closeTimer: NodeJS.Timeout | null = null;

  private constructor(socket: net.Socket, maxMessageBytes: number) {
    this.socket = socket;
    this.maxMessageBytes = maxMessageBytes;
  }

  /** Opens a TCP connection and performs the upgrade; resolves once the connection is open. */
  static connect(opts: LeanWsOptions): Promise<LeanWebSocket> {
    return new Promise((resolve, reject) => {
      let url: URL;
      try {
        url = new URL(opts.url);
      } catch {
        reject(new LeanWsError(`invalid websocket url: ${opts.url}`));
        return;
      }
      if (url.protocol !== 'ws:') {
        reject(new LeanWsError(`unsupported scheme in ${opts.url}: LeanWebSocket speaks ws:// only`));
        return;
      }
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1'); // IPv6 literals come bracketed
      const port = url.port === '' ? 80 : Number(url.port);
      const target = `${url.hostname}:${port}`;
      const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
      const maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;

      const key = randomBytes(16).toString('base64');
      const expectedAccept = createHash('sha1').update(key + WS_GUID).digest('base64');
      let request: string;
      try {
        request = buildUpgradeRequest(url, key, opts.headers);
      } catch (err) {
        reject(err);
        return;
      }

      let socket: net.Socket;
      try {
        socket = net.connect({ host, port, localAddress: opts.localAddress });
      } catch (err) {
        reject(describeSocketError(err as NodeJS.ErrnoException, target));
        return;
      }

      let settled = false;
      let responseChunks: Buffer[] = [];
      let responseBytes = 0;

      const removeListeners = (): void => {
        socket.off('connect', onConnect).off('data', onData).off('error', onError).off('close', onClose);
      };
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        removeListeners();
        socket.on('error', () => {}); // late errors from the destroyed socket must not crash the process
        socket.destroy();
        reject(err);
      };
      const onConnect = (): void => {
        socket.setNoDelay(true); // frames are already coalesced per turn; Nagle would only add latency
        socket.write(request);
      };
      const onError = (err: NodeJS.ErrnoException): void => fail(describeSocketError(err, target));
      const onClose = (): void => fail(new LeanWsError(`connection to ${target} closed before the websocket upgrade completed`, { code: 'ECONNRESET' }));
      const onData = (chunk: Buffer): void => {
        responseChunks.push(chunk);
        responseBytes += chunk.length;
        const head = responseChunks.length === 1 ? chunk : Buffer.concat(responseChunks, responseBytes);
        responseChunks = [head];
        const headerEnd = head.indexOf('\r\n\r\n');
        if (headerEnd < 0) {
          if (responseBytes > UPGRADE_RESPONSE_BYTES_MAX) fail(new LeanWsError(`upgrade response from ${target} exceeds ${UPGRADE_RESPONSE_BYTES_MAX} bytes without ending its header`));
          return;
        }
        const problem = checkUpgradeResponse(head.toString('latin1', 0, headerEnd), expectedAccept, opts.headers, target);
        if (problem !== null) {
          fail(problem);
          return;
        }
        settled = true;
        clearTimeout(timer);
        removeListeners();
        const ws = new LeanWebSocket(socket, maxMessageBytes);
        ws.start(head.subarray(headerEnd + 4));
        resolve(ws);
      };

      const timer = setTimeout(() => {
        fail(new LeanWsError(`websocket connect to ${target} timed out after ${connectTimeoutMs} ms (TCP connect + upgrade)`, { code: 'ETIMEDOUT' }));
      }, connectTimeoutMs);
      socket.on('connect', onConnect).on('data', onData).on('error', onError).on('close', onClose);
    });
  }

  /** Bytes not yet written to the kernel: queued this turn plus buffered in the socket. */
  /** Stop reading from the socket (a slow receiver: the server's send buffer for us grows). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  get bufferedAmount(): number {
    return this.socket.writableLength + (this.outSlab === null ? 0 : this.outEnd - this.outStart);
  }

  /** True once the server sent a close frame or ended the TCP connection. */
  get remoteClosed(): boolean {
    return this.closeReceived || this.socketEnded;
  }

  /** Queues one binary message; it leaves with the other frames of this turn. Dropped silently once a close frame was sent (the connection is going away). */
  send(data: Uint8Array): void {
    if (this.closeSent || this.closed) return;
    this.writeFrame(OPCODE_BINARY, data);
  }

  /** Starts the closing handshake. onclose follows when the server answers and drops TCP (or after CLOSE_HANDSHAKE_TIMEOUT_MS). */
  close(code: number = CLOSE_NORMAL, reason = ''): void {
    if (!isValidWireCloseCode(code)) throw new RangeError(`invalid close code ${code}`);
    if (Buffer.byteLength(reason) > 123) throw new RangeError('close reason longer than 123 bytes');
    if (this.closeSent || this.closed) return;
    this.sendCloseFrame(code, reason);
  }

  // -------------------------------------------------------------------------
  // Lifecycle

  private start(leftover: Buffer): void {
    const socket = this.socket;
    socket.on('data', (chunk: Buffer) => this.onSocketData(chunk));
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
      if (leftover.length > 0 && !this.closed) this.onSocketData(leftover);
      socket.resume();
    });
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.releaseRegion();
    this.rxPending.length = 0;
    this.fragParts = [];
    let code: number;
    let reason: string;
    if (this.failCode !== 0) {
      code = this.failCode;
      reason = this.failReason;
    } else if (this.closeReceived) {
      code = this.receivedCode;
      reason = this.receivedReason;
    } else {
      code = CLOSE_ABNORMAL;
      reason = this.socketError?.message ?? '';
    }
    this.onclose(code, reason);
  }

  /** Fails the connection (RFC 6455 7.1.7): send a close frame with `code`, stop reading, end TCP. */
  private fail(code: number, reason: string): void {
    if (this.failCode !== 0 || this.closed) return;
    this.failCode = code;
    this.failReason = reason;
    this.rxPending.length = 0;
    this.rxPendingBytes = 0;
    this.fragParts = [];
    if (!this.closeSent) this.sendCloseFrame(code, reason);
    this.endAfterFlush = true;
    if (this.outSlab === null) this.socket.end(); // our close frame already left in an earlier turn
  }

  private sendCloseFrame(code: number, reason: string): void {
    let payload = EMPTY;
    if (code !== CLOSE_NO_STATUS) {
      const reasonBytes = Buffer.byteLength(reason);
      payload = Buffer.allocUnsafe(2 + reasonBytes);
      payload.writeUInt16BE(code, 0);
      payload.write(reason, 2);
    }
    this.writeFrame(OPCODE_CLOSE, payload);
    this.closeSent = true;
    // The server should drop TCP once the handshake is done (so TIME_WAIT sits
    // on its side, not on our ephemeral ports); this timer covers a server
    // that never answers.
    this.closeTimer = setTimeout(() => this.socket.destroy(), CLOSE_HANDSHAKE_TIMEOUT_MS);
  }

  // -------------------------------------------------------------------------
  // Receive path

  private onSocketData(chunk: Buffer): void {
    if (this.failCode !== 0 || this.closeReceived) return; // nothing after a close frame or a failure is read
    if (this.rxPending.length === 0) {
      this.parseFrames(chunk); // fast path: no leftover, parse the chunk in place
      return;
    }
    this.rxPending.push(chunk);
    this.rxPendingBytes += chunk.length;
    if (this.rxPendingBytes < this.rxNeedBytes) return; // wait until the frame (or its header) is complete
    const joined = Buffer.concat(this.rxPending, this.rxPendingBytes);
    this.rxPending.length = 0;
    this.rxPendingBytes = 0;
    this.parseFrames(joined);
  }

  private parseFrames(buf: Buffer): void {
    const bufBytes = buf.length;
    let offset = 0;
    let needBytes = 0;
    try {
      while (this.failCode === 0 && !this.closeReceived && !this.closed) {
        const availBytes = bufBytes - offset;
        if (availBytes < 2) {
          needBytes = 2;
          break;
        }
        const b0 = buf[offset];
        const b1 = buf[offset + 1];
        let payloadBytes = b1 & 0x7f;
        let headerBytes = 2;
        if (payloadBytes === 126) {
          if (availBytes < 4) {
            needBytes = 4;
            break;
          }
          payloadBytes = (buf[offset + 2] << 8) | buf[offset + 3];
          headerBytes = 4;
        } else if (payloadBytes === 127) {
          if (availBytes < 10) {
            needBytes = 10;
            break;
          }
          const high = buf.readUInt32BE(offset + 2);
          if (high & 0x80000000) {
            this.fail(CLOSE_PROTOCOL_ERROR, '64-bit payload length with the most significant bit set');
            break;
          }
          if (high > 0x1fffff) {
            this.fail(CLOSE_MESSAGE_TOO_BIG, 'message too big'); // beyond 2^53: bigger than any limit
            break;
          }
          payloadBytes = high * 0x100000000 + buf.readUInt32BE(offset + 6);
          headerBytes = 10;
        }
        const opcode = b0 & 0x0f;
        // Validate before waiting for the payload, so an oversize message is
        // refused from its header instead of after buffering it.
        if (!this.checkFrameHeader(b0, b1, opcode, payloadBytes)) break;
        const frameBytes = headerBytes + payloadBytes;
        if (availBytes < frameBytes) {
          needBytes = frameBytes;
          break;
        }
        const payloadStart = offset + headerBytes;
        offset += frameBytes;
        this.onFrame((b0 & 0x80) !== 0, opcode, buf.subarray(payloadStart, payloadStart + payloadBytes));
      }
    } finally {
      // Also runs if onmessage throws: the unparsed rest is kept so the stream stays in sync.
      if (offset < bufBytes && this.failCode === 0 && !this.closeReceived && !this.closed) {
        this.rxPending.push(offset === 0 ? buf : buf.subarray(offset));
        this.rxPendingBytes = bufBytes - offset;
        this.rxNeedBytes = needBytes;
      }
    }
  }

  /** Returns false (after failing the connection) when the frame header breaks the protocol or the size limit. */
  private checkFrameHeader(b0: number, b1: number, opcode: number, payloadBytes: number): boolean {
    if ((b0 & 0x70) !== 0) {
      this.fail(CLOSE_PROTOCOL_ERROR, 'reserved bits set but no extension was negotiated');
      return false;
    }
    if ((b1 & 0x80) !== 0) {
      this.fail(CLOSE_PROTOCOL_ERROR, 'server frames must not be masked');
      return false;
    }
    if (opcode >= OPCODE_CLOSE) {
      if (opcode > OPCODE_PONG) {
        this.fail(CLOSE_PROTOCOL_ERROR, `unknown control opcode ${opcode}`);
        return false;
      }
      if ((b0 & 0x80) === 0 || payloadBytes > 125) {
        this.fail(CLOSE_PROTOCOL_ERROR, 'control frames must be unfragmented with at most 125 bytes');
        return false;
      }
      return true;
    }
    if (opcode === OPCODE_CONTINUATION) {
      if (this.fragOpcode === 0) {
        this.fail(CLOSE_PROTOCOL_ERROR, 'continuation frame without a message in progress');
        return false;
      }
      if (this.fragBytes + payloadBytes > this.maxMessageBytes) {
        this.fail(CLOSE_MESSAGE_TOO_BIG, `message exceeds ${this.maxMessageBytes} bytes`);
        return false;
      }
      return true;
    }
    if (opcode > OPCODE_BINARY) {
      this.fail(CLOSE_PROTOCOL_ERROR, `unknown data opcode ${opcode}`);
      return false;
    }
    if (this.fragOpcode !== 0) {
      this.fail(CLOSE_PROTOCOL_ERROR, 'new message started inside a fragmented one');
      return false;
    }
    if (payloadBytes > this.maxMessageBytes) {
      this.fail(CLOSE_MESSAGE_TOO_BIG, `message exceeds ${this.maxMessageBytes} bytes`);
      return false;
    }
    return true;
  }

  private onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case OPCODE_BINARY:
      case OPCODE_TEXT:
        if (fin) {
          this.deliver(opcode, payload);
        } else {
          this.fragOpcode = opcode;
          this.fragParts.push(payload); // views into socket chunks: copied once, at the last fragment
          this.fragBytes = payload.length;
        }
        return;
      case OPCODE_CONTINUATION: {
        this.fragParts.push(payload);
        this.fragBytes += payload.length;
        if (!fin) return;
        const parts = this.fragParts;
        const message = parts.length === 1 ? parts[0] : Buffer.concat(parts, this.fragBytes);
        const messageOpcode = this.fragOpcode;
        this.fragParts = [];
        this.fragBytes = 0;
        this.fragOpcode = 0;
        this.deliver(messageOpcode, message);
        return;
      }
      case OPCODE_CLOSE:
        this.onCloseFrame(payload);
        return;
      case OPCODE_PING:
        if (!this.closeSent) this.writeFrame(OPCODE_PONG, payload); // same application data, per RFC 5.5.3
        return;
      default: // OPCODE_PONG: unsolicited or answering nothing we track
        return;
    }
  }

  private deliver(opcode: number, message: Buffer): void {
    if (opcode === OPCODE_TEXT && !isUtf8(message)) {
      this.fail(CLOSE_INVALID_PAYLOAD, 'text message is not valid UTF-8');
      return;
    }
    this.onmessage(message);
  }

  private onCloseFrame(payload: Buffer): void {
    let code = CLOSE_NO_STATUS;
    let reason = '';
    if (payload.length === 1) {
      this.fail(CLOSE_PROTOCOL_ERROR, 'close frame with a 1-byte payload');
      return;
    }
    if (payload.length >= 2) {
      code = payload.readUInt16BE(0);
      if (!isValidWireCloseCode(code)) {
        this.fail(CLOSE_PROTOCOL_ERROR, `invalid close code ${code}`);
        return;
      }
      const reasonBytes = payload.subarray(2);
      if (!isUtf8(reasonBytes)) {
        this.fail(CLOSE_INVALID_PAYLOAD, 'close reason is not valid UTF-8');
        return;
      }
      reason = reasonBytes.toString('utf8');
    }
    this.closeReceived = true;
    this.receivedCode = code;
    this.receivedReason = reason;
    // Echo the code (RFC 5.5.1), then wait for the server to drop TCP.
    if (!this.closeSent) this.sendCloseFrame(code, '');
  }

  // -------------------------------------------------------------------------
  // Send path

  private writeFrame(opcode: number, payload: Uint8Array): void {
    const payloadBytes = payload.length;
    const headerBytes = payloadBytes < 126 ? 6 : payloadBytes < 65536 ? 8 : 14; // incl. 4-byte mask key
    this.reserveOut(headerBytes + payloadBytes);
    const slab = this.outSlab as SendSlab;
    const out = slab.bytes;
    let at = this.outEnd;
    out[at] = 0x80 | opcode; // FIN: we never fragment what we send
    if (payloadBytes < 126) {
      out[at + 1] = 0x80 | payloadBytes;
      at += 2;
    } else if (payloadBytes < 65536) {
      out[at + 1] = 0x80 | 126;
      out[at + 2] = payloadBytes >>> 8;
      out[at + 3] = payloadBytes & 0xff;
      at += 4;
    } else {
      out[at + 1] = 0x80 | 127;
      out.writeUInt32BE(Math.floor(payloadBytes / 0x100000000), at + 2);
      out.writeUInt32BE(payloadBytes >>> 0, at + 6);
      at += 10;
    }
    if (maskPoolOffset === MASK_POOL_BYTES) {
      randomFillSync(maskPool);
      maskPoolOffset = 0;
    }
    const keyAt = at;
    out[at] = maskPool[maskPoolOffset];
    out[at + 1] = maskPool[maskPoolOffset + 1];
    out[at + 2] = maskPool[maskPoolOffset + 2];
    out[at + 3] = maskPool[maskPoolOffset + 3];
    maskPoolOffset += 4;
    at += 4;
    maskInto(payload, slab, at, keyAt);
    this.outEnd = at + payloadBytes;
  }

  /** Makes room for `frameBytes` more bytes in this turn's region, taking a new region on the first frame of a turn. */
  private reserveOut(frameBytes: number): void {
    const slab = this.outSlab;
    if (slab === null) {
      this.takeRegion(Math.max(frameBytes, this.regionHintBytes));
      scheduleFlush(this);
      return;
    }
    if (this.outEnd + frameBytes <= this.outLimit) return;
    const usedBytes = this.outEnd - this.outStart;
    const wantedBytes = 2 * (usedBytes + frameBytes);
    // Our region is the slab's last one: grow it in place.
    if (slab.usedBytes === this.outLimit) {
      const newLimit = Math.min(slab.sizeBytes, align8(this.outStart + wantedBytes));
      if (newLimit >= this.outEnd + frameBytes && wantedBytes <= DEDICATED_REGION_BYTES) {
        slab.usedBytes = this.outLimit = newLimit;
        return;
      }
    }
    // Otherwise move what we have to a bigger region (amortized by doubling).
    const oldStart = this.outStart;
    const oldLimit = this.outLimit;
    this.takeRegion(wantedBytes);
    slab.bytes.copy((this.outSlab as SendSlab).bytes, this.outStart, oldStart, oldStart + usedBytes);
    this.outEnd = this.outStart + usedBytes;
    if (slab.usedBytes === oldLimit) slab.usedBytes = oldStart; // the old region was last in its slab: give it back
  }

  private takeRegion(minBytes: number): void {
    const regionBytes = align8(minBytes);
    let slab: SendSlab;
    if (regionBytes > DEDICATED_REGION_BYTES) {
      slab = new SendSlab(regionBytes);
    } else {
      slab = sharedSlab ?? (sharedSlab = new SendSlab(SEND_SLAB_BYTES));
      if (slab.usedBytes + regionBytes > slab.sizeBytes) slab = sharedSlab = new SendSlab(SEND_SLAB_BYTES);
    }
    this.outSlab = slab;
    this.outStart = this.outEnd = slab.usedBytes;
    this.outLimit = slab.usedBytes = slab.usedBytes + regionBytes;
  }

  /** Gives the unused tail of this turn's region back to its slab, when it is the slab's last region. */
  private releaseRegion(): void {
    const slab = this.outSlab;
    if (slab === null) return;
    if (slab.usedBytes === this.outLimit) slab.usedBytes = align8(this.outEnd);
    this.outSlab = null;
  }

  /** @internal Called by the per-turn flush: one socket.write for every frame queued this turn. */
  flushOut(): void {
    const slab = this.outSlab;
    if (slab === null) return;
    const start = this.outStart;
    const end = this.outEnd;
    this.releaseRegion();
    const turnBytes = end - start;
    this.regionHintBytes = turnBytes < MIN_REGION_BYTES ? MIN_REGION_BYTES : turnBytes > REGION_HINT_BYTES_MAX ? REGION_HINT_BYTES_MAX : turnBytes;
    const socket = this.socket;
    if (socket.destroyed || !socket.writable) return;
    if (turnBytes > 0) socket.write(slab.bytes.subarray(start, end));
    if (this.endAfterFlush) socket.end();
  }
}

/**
 * Copies `src` into `slab` at `at`, XORed with the 4-byte key stored at `keyAt`.
 * Short payloads use a byte loop; longer ones are copied with set() (memcpy)
 * and XORed in place a 32-bit word at a time over the aligned middle.
 */
function maskInto(src: Uint8Array, slab: SendSlab, at: number, keyAt: number): void {
  const out = slab.bytes;
  const n = src.length;
  if (n < WORD_MASK_MIN_BYTES) {
    for (let i = 0; i < n; i++) out[at + i] = src[i] ^ out[keyAt + (i & 3)];
    return;
  }
  out.set(src, at);
  const end = at + n;
  let i = at;
  for (; (i & 3) !== 0; i++) out[i] ^= out[keyAt + ((i - at) & 3)];
  // Key bytes as they line up with the first aligned word.
  const phase = i - at;
  const k0 = out[keyAt + (phase & 3)];
  const k1 = out[keyAt + ((phase + 1) & 3)];
  const k2 = out[keyAt + ((phase + 2) & 3)];
  const k3 = out[keyAt + ((phase + 3) & 3)];
  const maskWord = LITTLE_ENDIAN ? k0 | (k1 << 8) | (k2 << 16) | (k3 << 24) : (k0 << 24) | (k1 << 16) | (k2 << 8) | k3;
  const words = slab.words;
  const wordEnd = end >>> 2;
  for (let w = i >>> 2; w < wordEnd; w++) words[w] ^= maskWord;
  for (i = wordEnd << 2; i < end; i++) out[i] ^= out[keyAt + ((i - at) & 3)];
}

function buildUpgradeRequest(url: URL, key: string, headers: Record<string, string> | undefined): string {
  let request =
    `GET ${url.pathname || '/'}${url.search} HTTP/1.1\r\n` +
    `Host: ${url.host}\r\n` +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Key: ${key}\r\n` +
    'Sec-WebSocket-Version: 13\r\n';
  if (headers !== undefined) {
    for (const name of Object.keys(headers)) {
      const value = headers[name];
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\0]/.test(value)) {
        throw new LeanWsError(`invalid header ${JSON.stringify(name)}`); // no header injection
      }
      request += `${name}: ${value}\r\n`;
    }
  }
  return request + '\r\n';
}

/** Returns null when the response completes a valid upgrade, else the error to reject with. */
function checkUpgradeResponse(head: string, expectedAccept: string, requestHeaders: Record<string, string> | undefined, target: string): LeanWsError | null {
  const lines = head.split('\r\n');
  const statusLine = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]);
  if (statusLine === null) return new LeanWsError(`malformed upgrade response from ${target}: ${JSON.stringify(lines[0].slice(0, 100))}`);
  const status = Number(statusLine[1]);
  if (status !== 101) {
    return new LeanWsError(`websocket upgrade to ${target} refused: HTTP ${status} ${statusLine[2] ?? ''}`.trimEnd(), { status });
  }
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(':');
    if (colon > 0) headers.set(lines[i].slice(0, colon).trim().toLowerCase(), lines[i].slice(colon + 1).trim());
  }
  const invalid = (why: string): LeanWsError => new LeanWsError(`invalid websocket upgrade response from ${target}: ${why}`, { status });
  if ((headers.get('upgrade') ?? '').toLowerCase() !== 'websocket') return invalid('Upgrade header is not "websocket"');
  if (!(headers.get('connection') ?? '').toLowerCase().split(',').some((t) => t.trim() === 'upgrade')) return invalid('Connection header lacks "upgrade"');
  if (headers.get('sec-websocket-accept') !== expectedAccept) return invalid('Sec-WebSocket-Accept does not match our key');
  if ((headers.get('sec-websocket-extensions') ?? '') !== '') return invalid('server selected an extension we did not offer');
  const protocol = headers.get('sec-websocket-protocol') ?? '';
  if (protocol !== '') {
    const offered = Object.entries(requestHeaders ?? {}).find(([name]) => name.toLowerCase() === 'sec-websocket-protocol');
    if (offered === undefined || !offered[1].split(',').some((p) => p.trim() === protocol)) return invalid(`server selected subprotocol "${protocol}" we did not offer`);
  }
  return null;
}

function describeSocketError(err: NodeJS.ErrnoException, target: string): LeanWsError {
  const code = err.code;
  let message: string;
  switch (code) {
    case 'ECONNREFUSED':
      message = `connection refused by ${target}: nothing is listening there (is the server up?)`;
      break;
    case 'EMFILE':
    case 'ENFILE':
      message = `${code} connecting to ${target}: out of file descriptors; raise the open-files limit (ulimit -n / LimitNOFILE, and fs.file-max for ENFILE)`;
      break;
    case 'EADDRNOTAVAIL':
      message = `EADDRNOTAVAIL connecting to ${target}: no local address/port available; spread connections over more localAddress values or widen net.ipv4.ip_local_port_range`;
      break;
    case 'ETIMEDOUT':
      message = `TCP connect to ${target} timed out`;
      break;
    default:
      message = `websocket connect to ${target} failed: ${err.message}`;
  }
  return new LeanWsError(message, { code, cause: err });
}
