// Generators that know protobuf's wire format and this project's messages:
// valid frames (every body type, with edge values: 0, 2^32-1, 2^53+1, 2^64-1,
// empty and oversize strings), almost valid ones (a valid encoding with bytes
// flipped, cut or spliced) and hostile ones (fields with the wrong wire type,
// truncated varints, lengths far past the end, deep nesting, unknown fields).
import fc from 'fast-check';
import { encodeClientFrame, frameBatch, type ClientFrameInit } from '../../server/common/protocol';

/** Numbers a uint64/uint32 field may decode to: the edges first. */
export const wireNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 1, 2, 127, 128, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64 - 2048),
  fc.nat({ max: 2 ** 32 - 1 }),
  fc.maxSafeNat(),
);

/** Strings: empty, short ids, unicode, and past every byte limit. */
export const wireString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', 'g.1', 'd.1.2', 'x'.repeat(65), 'x'.repeat(300), '\u{1F600}'.repeat(40), '\u0000'),
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.string({ maxLength: 600 }),
);

const userList = fc.array(wireNumber, { maxLength: 300 });

/** A client frame as a client would build it, any body type, with edge values everywhere. */
export const clientFrameInit: fc.Arbitrary<ClientFrameInit> = fc.tuple(fc.nat({ max: 2 ** 32 - 1 }), fc.oneof(
  fc.record({ send: fc.record({ to_user: wireNumber, client_msg_id: wireString, body: fc.uint8Array({ maxLength: 5000 }), chat_id: wireString }) }),
  fc.record({ ack: fc.record({ chat_id: wireString, delivered_up_to: wireNumber, read_up_to: wireNumber }) }),
  fc.record({ history: fc.record({ chat_id: wireString, before_id: wireNumber, limit: fc.nat({ max: 2 ** 32 - 1 }) }) }),
  fc.record({ presence_subscribe: fc.record({ user_ids: userList }) }),
  fc.record({ ping: fc.record({ client_time_ms: wireNumber }) }),
  fc.record({ create_group: fc.record({ name: wireString, members: userList }) }),
  fc.record({ group_change: fc.record({ chat_id: wireString, kind: fc.integer({ min: -1, max: 9 }), users: userList, name: wireString }) }),
  fc.record({ group_info: fc.record({ chat_id: wireString }) }),
  fc.record({ message_info: fc.record({ chat_id: wireString, id: wireNumber }) }),
)).map(([ref, body]) => ({ ref, ...body }) as ClientFrameInit);

// ---------------------------------------------------------------- raw wire format

function varint(n: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/** One raw field: any tag, any wire type (0..7, 6 and 7 invalid), payloads that may lie about their length. */
const rawField: fc.Arbitrary<number[]> = fc.tuple(
  fc.oneof(fc.integer({ min: 1, max: 12 }), fc.constantFrom(0, 15, 16, 2 ** 29 - 1)),
  fc.integer({ min: 0, max: 7 }),
  fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(0n, 1n, 2n ** 31n, 2n ** 32n, 2n ** 63n, 2n ** 64n - 1n)),
  fc.uint8Array({ maxLength: 40 }),
  fc.constantFrom('exact', 'short', 'huge', 'truncated-varint'),
).map(([field, wire, value, payload, lie]) => {
  const key = varint(BigInt(field) * 8n + BigInt(wire));
  if (lie === 'truncated-varint') return [...key, 0xff, 0xff, 0xff];
  switch (wire) {
    case 0: return [...key, ...varint(value)];
    case 1: return [...key, ...payload.subarray(0, 8), ...new Array(Math.max(0, 8 - payload.length)).fill(0)];
    case 5: return [...key, ...payload.subarray(0, 4), ...new Array(Math.max(0, 4 - payload.length)).fill(0)];
    case 2: {
      const len = lie === 'huge' ? 2 ** 31 + payload.length : lie === 'short' ? payload.length + 5 : payload.length;
      return [...key, ...varint(BigInt(len)), ...payload];
    }
    default: return [...key, ...payload.subarray(0, 3)]; // 3, 4 (groups), 6, 7 (invalid)
  }
});

/** A message made of raw fields, sometimes nested inside a field 2..10 (a oneof body) as protobuf would. */
export const rawMessage: fc.Arbitrary<Uint8Array> = fc.tuple(fc.array(rawField, { maxLength: 8 }), fc.option(fc.integer({ min: 2, max: 10 }))).map(
  ([fields, wrapIn]) => {
    const inner = fields.flat();
    if (wrapIn === null) return Uint8Array.from(inner);
    return Uint8Array.from([...varint(BigInt(wrapIn) * 8n + 2n), ...varint(BigInt(inner.length)), ...inner]);
  },
);

/** A valid encoding, damaged: a byte flipped, the end cut, bytes inserted, or two encodings spliced. */
export function mutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(valid, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'cut', 'insert', 'splice'), valid).map(
    ([bytes, at, b, how, other]) => {
      if (bytes.length === 0) return Uint8Array.of(b);
      const i = at % bytes.length;
      const out = Array.from(bytes);
      switch (how) {
        case 'flip': out[i] = out[i]! ^ (b || 1); break;
        case 'cut': out.length = i; break;
        case 'insert': out.splice(i, 0, b); break;
        case 'splice': out.splice(i, out.length - i, ...other.subarray(other.length ? at % other.length : 0)); break;
      }
      return Uint8Array.from(out);
    },
  );
}

export const validClientFrameBytes: fc.Arbitrary<Uint8Array> = clientFrameInit.map((f) => encodeClientFrame(f));

/** One encoded client frame: valid, almost valid or hostile. */
export const clientFrameBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: validClientFrameBytes },
  { weight: 3, arbitrary: mutated(validClientFrameBytes) },
  { weight: 3, arbitrary: rawMessage },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
);

/** A WebSocket message as the gateway receives it: a batch of frames (well framed or not). */
export const clientBatchBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: fc.array(clientFrameBytes, { maxLength: 6 }).map((frames) => frameBatch(frames)) },
  { weight: 2, arbitrary: mutated(fc.array(validClientFrameBytes, { minLength: 1, maxLength: 4 }).map((frames) => frameBatch(frames))) },
  { weight: 1, arbitrary: rawMessage },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
);
