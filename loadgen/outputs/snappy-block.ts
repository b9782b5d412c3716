// Snappy's block format (github.com/google/snappy format_description.txt),
// the encoding Prometheus remote write requires, written with literals only:
// a varint of the uncompressed length, then the bytes as literal elements.
// No npm snappy package is installed here and compression is not the point
// (a remote-write batch is a few KB a second); every snappy decoder reads
// literal-only blocks, since copies are optional.
//
// A literal element: tag byte (len-1) << 2 for len <= 60; for longer ones the
// tag says how many little-endian bytes of len-1 follow (60: 1, 61: 2, 62: 3, 63: 4).

/** Longest literal element written: 2 length bytes cover it and keep the tag arithmetic simple. */
const LITERAL_BYTES_MAX = 65_536;

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

export function snappyEncodeLiteral(input: Uint8Array): Buffer {
  const parts: Buffer[] = [Buffer.from(varint(input.length))];
  for (let off = 0; off < input.length; off += LITERAL_BYTES_MAX) {
    const chunk = input.subarray(off, Math.min(input.length, off + LITERAL_BYTES_MAX));
    const n = chunk.length - 1;
    if (n < 60) parts.push(Buffer.from([n << 2]));
    else if (n < 256) parts.push(Buffer.from([60 << 2, n]));
    else parts.push(Buffer.from([61 << 2, n & 0xff, n >> 8]));
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts);
}

/** Decodes a block (literals and copies): what a receiver does, for tests and for reading a payload back. */
export function snappyDecode(block: Uint8Array): Buffer {
  let pos = 0;
  let len = 0;
  for (let shift = 1; ; shift *= 128) {
    if (pos >= block.length) throw new Error('snappy: truncated length');
    const b = block[pos++]!;
    len += (b & 0x7f) * shift;
    if (b < 0x80) break;
    if (shift > 128 ** 4) throw new Error('snappy: length varint too long');
  }
  const out = Buffer.alloc(len);
  let o = 0;
  const need = (n: number) => {
    if (pos + n > block.length) throw new Error('snappy: truncated element');
  };
  while (pos < block.length) {
    const tag = block[pos++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let n = tag >> 2;
      if (n >= 60) {
        const k = n - 59;
        need(k);
        n = 0;
        for (let i = 0; i < k; i++) n += block[pos++]! * 256 ** i;
      }
      n += 1;
      need(n);
      if (o + n > len) throw new Error('snappy: literal past the stated length');
      out.set(block.subarray(pos, pos + n), o);
      pos += n;
      o += n;
      continue;
    }
    let n: number;
    let offset: number;
    if (kind === 1) {
      need(1);
      n = ((tag >> 2) & 7) + 4;
      offset = ((tag >> 5) << 8) | block[pos++]!;
    } else {
      const k = kind === 2 ? 2 : 4;
      need(k);
      n = (tag >> 2) + 1;
      offset = 0;
      for (let i = 0; i < k; i++) offset += block[pos++]! * 256 ** i;
    }
    if (offset === 0 || offset > o || o + n > len) throw new Error('snappy: bad copy');
    for (let i = 0; i < n; i++, o++) out[o] = out[o - offset]!;
  }
  if (o !== len) throw new Error(`snappy: ${o} bytes decoded, ${len} stated`);
  return out;
}
