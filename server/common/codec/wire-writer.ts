// Protobuf wire writing for the hand codecs (docs/design/024-hand-codecs.md):
// sizes first, then one write into one Buffer.allocUnsafe of the exact size,
// where protobufjs builds a list of write operations and copies them out in
// finish(). Values are written exactly as protobufjs 7.6's BufferWriter
// writes them (Long support off): uint32 as value >>> 0, uint64 from a number
// as LongBits.fromNumber (negative numbers as their 64-bit two's complement),
// int32 negatives as 10 bytes, bool as one byte, bytes copied with set(),
// strings as ./utf8.ts says.
import { utf8Size, writeUtf8 } from './utf8';

/** Bytes of a varint holding `v` (0 <= v < 2^32). */
export function varint32Size(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Write `v` (0 <= v < 2^32) as a varint at `at`; returns the end offset. */
export function writeVarint32(out: Uint8Array, at: number, v: number): number {
  while (v > 127) {
    out[at++] = (v & 127) | 128;
    v >>>= 7;
  }
  out[at++] = v;
  return at;
}

/** The low and high 32 bits of `value` as protobufjs's LongBits.fromNumber makes them. */
function longBits(value: number): [number, number] {
  if (value === 0) return [0, 0];
  const sign = value < 0;
  if (sign) value = -value;
  let lo = value >>> 0;
  let hi = (value - lo) / 4294967296 >>> 0;
  if (sign) {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
    if (++lo > 4294967295) {
      lo = 0;
      if (++hi > 4294967295) hi = 0;
    }
  }
  return [lo, hi];
}

/** Bytes of a varint64 of these 32-bit halves (protobufjs's LongBits.length). */
function bitsSize(lo: number, hi: number): number {
  const part1 = (lo >>> 28 | hi << 4) >>> 0;
  const part2 = hi >>> 24;
  if (part2 !== 0) return part2 < 128 ? 9 : 10;
  if (part1 === 0) return varint32Size(lo);
  return part1 < 16384 ? (part1 < 128 ? 5 : 6) : (part1 < 2097152 ? 7 : 8);
}

/** Bytes of `value` written as a uint64 varint. */
export function uint64Size(value: number): number {
  if (value >>> 0 === value) return varint32Size(value);
  if (value > 0) { // ids and times: the halves without LongBits.fromNumber's array
    const lo = value >>> 0;
    return bitsSize(lo, (value - lo) / 4294967296 >>> 0);
  }
  const [lo, hi] = longBits(value);
  return bitsSize(lo, hi);
}

/** Write `value` as a uint64 varint at `at`; returns the end offset. */
export function writeUint64(out: Uint8Array, at: number, value: number): number {
  if (value >>> 0 === value) return writeVarint32(out, at, value);
  let lo: number;
  let hi: number;
  if (value > 0) {
    lo = value >>> 0;
    hi = (value - lo) / 4294967296 >>> 0;
  } else {
    [lo, hi] = longBits(value);
  }
  while (hi) {
    out[at++] = (lo & 127) | 128;
    lo = (lo >>> 7 | hi << 25) >>> 0;
    hi >>>= 7;
  }
  return writeVarint32(out, at, lo);
}

/** Bytes of an int32 (an enum): a negative one takes 10. */
export function int32Size(value: number): number {
  value |= 0;
  return value < 0 ? 10 : varint32Size(value);
}

export function writeInt32(out: Uint8Array, at: number, value: number): number {
  value |= 0;
  return value < 0 ? writeUint64(out, at, value) : writeVarint32(out, at, value);
}

/** Bytes of a length-delimited payload of `n` bytes, its length prefix included (not its tag). */
export function delimitedSize(n: number): number {
  return varint32Size(n) + n;
}

/** Write `bytes` with its length prefix at `at`; returns the end offset. */
export function writeBytes(out: Uint8Array, at: number, bytes: Uint8Array): number {
  at = writeVarint32(out, at, bytes.length);
  if (bytes.length > 0) out.set(bytes, at);
  return at + bytes.length;
}

/** Size of a string field's value (length prefix + bytes); its byte length is remembered in `strings` for the write. */
export function delimited(strings: number[], s: string): number {
  const size = utf8Size(s);
  strings.push(size);
  return varint32Size(size) + size;
}

/** Write string `s` of `size` UTF-8 bytes (from `delimited`) with its length prefix at `at`; returns the end offset. */
export function writeString(out: Buffer, at: number, s: string, size: number): number {
  return writeUtf8(out, writeVarint32(out, at, size), s, size);
}
