// A protobuf wire reader for the hand codecs (docs/design/024-hand-codecs.md).
// It mirrors protobufjs 7.6's Reader and BufferReader step for step, quirks
// included, so that a hand decoder accepts and refuses exactly the bytes the
// protobufjs decoder accepts and refuses:
//   - uint32 keeps the low 32 bits of a varint and skips up to 10 bytes;
//   - uint64 (Long support off) is lo + hi * 2^32, with protobufjs's short
//     route near the end (4 bytes read, the 4th whatever its high bit says);
//   - a string read from a Buffer is clamped at the end of its message
//     (BufferReader.string), from a plain Uint8Array it must fit (Reader.bytes);
//   - known fields are read by their declared type whatever their wire type;
//   - unknown fields (groups too, nested at most RECURSION_LIMIT deep) are skipped.
// Where protobufjs would index past the end of the array it reads `undefined`,
// i.e. 0 bits; this reader checks the bound and uses 0 instead. Every refusal is
// a ProtocolError(MALFORMED_FRAME), never another exception.
import { ErrorCode, ProtocolError } from '../errors';
import { bufferUtf8Read, protobufUtf8Read } from './utf8';

/** protobufjs's util.recursionLimit (protoc's default): nested groups / messages past this are refused. */
export const RECURSION_LIMIT = 100;

/** A frozen empty array: protobufjs's default for an absent bytes field (util.emptyArray), kept for equality. */
export const EMPTY_BYTES_DEFAULT = Object.freeze([]) as unknown as Uint8Array;

const EMPTY_BUFFER_LENGTH = 0;

export function malformed(what: string): ProtocolError {
  return new ProtocolError(ErrorCode.MALFORMED_FRAME, `undecodable frame: ${what}`);
}

export class WireReader {
  pos = 0;
  /** The end of the message being read (a nested message narrows it, as protobufjs's r.len). */
  len: number;
  private readonly isBuffer: boolean;

  constructor(readonly buf: Uint8Array) {
    this.len = buf.length;
    this.isBuffer = Buffer.isBuffer(buf);
  }

  /** The byte at `at`, or 0 past the array's end (where protobufjs reads undefined). */
  private byteAt(at: number): number {
    return at < this.buf.length ? this.buf[at]! : 0;
  }

  uint32(): number {
    const buf = this.buf;
    if (this.len - this.pos < 5) {
      if (this.pos >= this.len) throw malformed(`index out of range: ${this.pos} + 1 > ${this.len}`);
      if (buf[this.pos]! >= 128) return this.uint32NearEnd();
    }
    let value = (buf[this.pos]! & 127) >>> 0; if (buf[this.pos++]! < 128) return value;
    value = (value | (buf[this.pos]! & 127) << 7) >>> 0; if (buf[this.pos++]! < 128) return value;
    value = (value | (buf[this.pos]! & 127) << 14) >>> 0; if (buf[this.pos++]! < 128) return value;
    value = (value | (buf[this.pos]! & 127) << 21) >>> 0; if (buf[this.pos++]! < 128) return value;
    value = (value | (buf[this.pos]! & 15) << 28) >>> 0; if (buf[this.pos++]! < 128) return value;
    if ((this.pos += 5) > this.len) {
      this.pos = this.len;
      throw malformed(`index out of range: ${this.pos} + 10 > ${this.len}`);
    }
    return value;
  }

  private uint32NearEnd(): number {
    let value = 0;
    for (let i = 0; i < 4; ++i) {
      if (this.pos >= this.len) throw malformed(`index out of range: ${this.pos} + 1 > ${this.len}`);
      const b = this.buf[this.pos++]!;
      value = (value | (b & 127) << i * 7) >>> 0;
      if (b < 128) return value;
    }
    throw malformed(`index out of range: ${this.pos} + 1 > ${this.len}`);
  }

  int32(): number {
    return this.uint32() | 0;
  }

  bool(): boolean {
    return this.uint32() !== 0;
  }

  /** A uint64 as a number (exact below 2^53), as protobufjs's readLongVarint + toNumber(true). */
  uint64(): number {
    const buf = this.buf;
    if (this.len - this.pos > 4 && buf[this.pos]! < 128) return buf[this.pos++]!; // the common one-byte case
    let lo = 0;
    let hi = 0;
    let i = 0;
    if (this.len - this.pos > 4) {
      for (; i < 4; ++i) {
        lo = (lo | (buf[this.pos]! & 127) << i * 7) >>> 0;
        if (buf[this.pos++]! < 128) return lo;
      }
      lo = (lo | (buf[this.pos]! & 127) << 28) >>> 0;
      hi = (hi | (buf[this.pos]! & 127) >> 4) >>> 0;
      if (buf[this.pos++]! < 128) return lo + hi * 4294967296;
      i = 0;
    } else {
      for (; i < 3; ++i) {
        if (this.pos >= this.len) throw malformed(`index out of range: ${this.pos} + 1 > ${this.len}`);
        lo = (lo | (buf[this.pos]! & 127) << i * 7) >>> 0;
        if (buf[this.pos++]! < 128) return lo;
      }
      // protobufjs takes a 4th byte here unchecked, whatever its continuation bit.
      lo = (lo | (this.byteAt(this.pos++) & 127) << i * 7) >>> 0;
      return lo;
    }
    return this.uint64High(lo, hi, i);
  }

  private uint64High(lo: number, hi: number, i: number): number {
    const buf = this.buf;
    const checked = this.len - this.pos <= 4;
    for (; i < 5; ++i) {
      if (checked && this.pos >= this.len) throw malformed(`index out of range: ${this.pos} + 1 > ${this.len}`);
      hi = (hi | (buf[this.pos]! & 127) << i * 7 + 3) >>> 0;
      if (buf[this.pos++]! < 128) return lo + hi * 4294967296;
    }
    throw malformed('invalid varint encoding');
  }

  /** Bytes as a view (a Buffer when reading a Buffer); an empty Buffer when the length is 0, as protobufjs. */
  bytes(): Uint8Array {
    const length = this.uint32();
    const start = this.pos;
    const end = start + length;
    if (end > this.len) throw malformed(`index out of range: ${this.pos} + ${length || 1} > ${this.len}`);
    this.pos = end;
    if (start === end) return Buffer.alloc(EMPTY_BUFFER_LENGTH);
    // A view either way; Buffer's slice (what protobufjs's BufferReader uses) is cheaper than its subarray.
    return this.isBuffer ? (this.buf as Buffer).slice(start, end) : this.buf.subarray(start, end);
  }

  string(): string {
    if (!this.isBuffer) {
      const b = this.bytes();
      return protobufUtf8Read(b, 0, b.length);
    }
    const length = this.uint32();
    const start = this.pos;
    this.pos = Math.min(start + length, this.len); // BufferReader clamps instead of refusing
    return bufferUtf8Read(this.buf, start, this.pos);
  }

  /** Narrow to a nested message of `length` bytes; returns the outer end to give back to `leave`. */
  enter(length: number): number {
    const end = this.pos + length;
    if (end > this.len) throw malformed('index out of range');
    const outer = this.len;
    this.len = end;
    return outer;
  }

  /** Leave a nested message: it must have been read exactly to its end. */
  leave(outer: number): void {
    if (this.pos !== this.len) throw malformed('index out of range');
    this.len = outer;
  }

  private skip(length: number): void {
    if (this.pos + length > this.len) throw malformed(`index out of range: ${this.pos} + ${length} > ${this.len}`);
    this.pos += length;
  }

  private skipVarint(): void {
    do {
      if (this.pos >= this.len) throw malformed(`index out of range: ${this.pos} + 1 > ${this.len}`);
    } while (this.buf[this.pos++]! & 128);
  }

  /** Skip an unknown field's value by its wire type (protobufjs's skipType). */
  skipType(wireType: number, depth: number): void {
    if (depth > RECURSION_LIMIT) throw malformed('maximum nesting depth exceeded');
    switch (wireType) {
      case 0: this.skipVarint(); return;
      case 1: this.skip(8); return;
      case 2: this.skip(this.uint32()); return;
      case 3:
        while ((wireType = this.uint32() & 7) !== 4) this.skipType(wireType, depth + 1);
        return;
      case 5: this.skip(4); return;
      default: throw malformed(`invalid wire type ${wireType} at offset ${this.pos}`);
    }
  }
}
