// The lean client's receive path: RFC 6455 frames parsed out of socket
// chunks in place (one subarray per frame, no copy), strict on the protocol
// (unmasked server frames, reserved bits, control frame rules, lengths,
// fragmentation, UTF-8 text, the size limit). A frame split across chunks
// costs one concat when it is complete; a fragmented message one concat at
// its final fragment. What the frames mean for the connection goes to its
// FrameSink.
import { isUtf8 } from 'node:buffer';
import { CloseCode, isValidWireCloseCode, Opcode } from './ws-protocol';

/** What the reader hands the connection. */
export interface FrameSink {
  /** A complete data message (text is delivered as a Buffer too); a view into a socket chunk. */
  message(data: Buffer): void;
  /** The server's close frame, checked (code 1005 when it carried none). */
  close(code: number, reason: string): void;
  /** A ping: answer with a pong carrying the same data (RFC 5.5.3). */
  ping(payload: Buffer): void;
  /** The server broke the protocol or the size limit: fail the connection with this code (and call stop()). */
  fail(code: number, reason: string): void;
}

export class FrameReader {
  private readonly pending: Buffer[] = []; // bytes of an incomplete frame, across chunks
  private pendingBytes = 0;
  private needBytes = 0; // do not re-parse until this many bytes are pending
  private fragOpcode = 0; // opcode of the fragmented message in progress, 0 = none
  private fragParts: Buffer[] = [];
  private fragBytes = 0;
  private stopped = false;

  constructor(private readonly maxMessageBytes: number, private readonly sink: FrameSink) {}

  /** Bytes held for an incomplete frame and a fragmented message: at most one frame header plus maxMessageBytes. */
  get heldBytes(): number {
    return this.pendingBytes + this.fragBytes;
  }

  /** Read nothing more (a close frame came, the connection failed or closed) and let go of buffered bytes. */
  stop(): void {
    this.stopped = true;
    this.pending.length = 0;
    this.pendingBytes = 0;
    this.fragParts = [];
  }

  /** A chunk from the socket: parse every complete frame in it, keep the incomplete rest. */
  push(chunk: Buffer): void {
    if (this.stopped) return; // nothing after a close frame or a failure is read
    if (this.pending.length === 0) {
      this.parse(chunk); // fast path: no leftover, parse the chunk in place
      return;
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.needBytes) return; // wait until the frame (or its header) is complete
    const joined = Buffer.concat(this.pending, this.pendingBytes);
    this.pending.length = 0;
    this.pendingBytes = 0;
    this.parse(joined);
  }

  private parse(buf: Buffer): void {
    const bufBytes = buf.length;
    let offset = 0;
    let needBytes = 0;
    try {
      while (!this.stopped) {
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
            this.sink.fail(CloseCode.ProtocolError, '64-bit payload length with the most significant bit set');
            break;
          }
          if (high > 0x1fffff) {
            this.sink.fail(CloseCode.MessageTooBig, 'message too big'); // beyond 2^53: bigger than any limit
            break;
          }
          payloadBytes = high * 0x100000000 + buf.readUInt32BE(offset + 6);
          headerBytes = 10;
        }
        const opcode = b0 & 0x0f;
        // Validate before waiting for the payload, so an oversize message is
        // refused from its header instead of after buffering it.
        if (!this.checkHeader(b0, b1, opcode, payloadBytes)) break;
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
      if (offset < bufBytes && !this.stopped) {
        this.pending.push(offset === 0 ? buf : buf.subarray(offset));
        this.pendingBytes = bufBytes - offset;
        this.needBytes = needBytes;
      }
    }
  }

  /** Returns false (after failing the connection) when the frame header breaks the protocol or the size limit. */
  private checkHeader(b0: number, b1: number, opcode: number, payloadBytes: number): boolean {
    if ((b0 & 0x70) !== 0) {
      this.sink.fail(CloseCode.ProtocolError, 'reserved bits set but no extension was negotiated');
      return false;
    }
    if ((b1 & 0x80) !== 0) {
      this.sink.fail(CloseCode.ProtocolError, 'server frames must not be masked');
      return false;
    }
    if (opcode >= Opcode.Close) {
      if (opcode > Opcode.Pong) {
        this.sink.fail(CloseCode.ProtocolError, `unknown control opcode ${opcode}`);
        return false;
      }
      if ((b0 & 0x80) === 0 || payloadBytes > 125) {
        this.sink.fail(CloseCode.ProtocolError, 'control frames must be unfragmented with at most 125 bytes');
        return false;
      }
      return true;
    }
    if (opcode === Opcode.Continuation) {
      if (this.fragOpcode === 0) {
        this.sink.fail(CloseCode.ProtocolError, 'continuation frame without a message in progress');
        return false;
      }
      if (this.fragBytes + payloadBytes > this.maxMessageBytes) {
        this.sink.fail(CloseCode.MessageTooBig, `message exceeds ${this.maxMessageBytes} bytes`);
        return false;
      }
      return true;
    }
    if (opcode > Opcode.Binary) {
      this.sink.fail(CloseCode.ProtocolError, `unknown data opcode ${opcode}`);
      return false;
    }
    if (this.fragOpcode !== 0) {
      this.sink.fail(CloseCode.ProtocolError, 'new message started inside a fragmented one');
      return false;
    }
    if (payloadBytes > this.maxMessageBytes) {
      this.sink.fail(CloseCode.MessageTooBig, `message exceeds ${this.maxMessageBytes} bytes`);
      return false;
    }
    return true;
  }

  private onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case Opcode.Binary:
      case Opcode.Text:
        if (fin) {
          this.deliver(opcode, payload);
        } else {
          this.fragOpcode = opcode;
          this.fragParts.push(payload); // views into socket chunks: copied once, at the last fragment
          this.fragBytes = payload.length;
        }
        return;
      case Opcode.Continuation: {
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
      case Opcode.Close:
        this.closeFrame(payload);
        return;
      case Opcode.Ping:
        this.sink.ping(payload);
        return;
      default: // Opcode.Pong: unsolicited or answering nothing we track
        return;
    }
  }

  private deliver(opcode: number, message: Buffer): void {
    if (opcode === Opcode.Text && !isUtf8(message)) {
      this.sink.fail(CloseCode.InvalidPayload, 'text message is not valid UTF-8');
      return;
    }
    this.sink.message(message);
  }

  /** A close frame: its code and reason checked, then handed on (a bad one fails the connection instead). */
  private closeFrame(payload: Buffer): void {
    let code: number = CloseCode.NoStatus;
    let reason = '';
    if (payload.length === 1) {
      this.sink.fail(CloseCode.ProtocolError, 'close frame with a 1-byte payload');
      return;
    }
    if (payload.length >= 2) {
      code = payload.readUInt16BE(0);
      if (!isValidWireCloseCode(code)) {
        this.sink.fail(CloseCode.ProtocolError, `invalid close code ${code}`);
        return;
      }
      const reasonBytes = payload.subarray(2);
      if (!isUtf8(reasonBytes)) {
        this.sink.fail(CloseCode.InvalidPayload, 'close reason is not valid UTF-8');
        return;
      }
      reason = reasonBytes.toString('utf8');
    }
    this.sink.close(code, reason);
  }
}
