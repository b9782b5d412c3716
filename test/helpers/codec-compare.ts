// Helpers for pinning the hand codecs (server/common/codec/) to protobufjs:
// the reference codecs loaded straight from the .proto files, a decode
// outcome (value or error code) in a form assert.deepEqual can compare, and
// generators of hostile bytes nested where the hand decoders read them.
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { join } from 'node:path';
import { ProtocolError } from '../../server/common/errors';
import { PROTO_DIR } from '../../server/common/paths';
import '../../server/common/protocol'; // switches protobufjs's Long support off, as in the services
import { rawMessage } from '../fuzz/proto-gen';

function loadRoot(file: string): protobuf.Root {
  const root = new protobuf.Root();
  root.loadSync(join(PROTO_DIR, file), { keepCase: true });
  root.resolveAll();
  return root;
}

const client = loadRoot('client.proto');
const internal = loadRoot('chat_service.proto');

/** protobufjs's codecs, as the code used them before the hand codecs. */
export const Ref = {
  ClientFrame: client.lookupType('wa.client.ClientFrame'),
  ServerFrame: client.lookupType('wa.client.ServerFrame'),
  GatewayBatch: internal.lookupType('wa.internal.GatewayBatch'),
  ChatBatch: internal.lookupType('wa.internal.ChatBatch'),
};

export function refEncode(type: protobuf.Type, value: object): Buffer {
  return Buffer.from(type.encode(value).finish());
}

/**
 * A decoded value as plain data: every field read through the object (so protobufjs's prototype
 * defaults and oneof getters count), bytes as their class and content, nested messages alike.
 */
export function plain(v: unknown, fields: Record<string, readonly string[]>, type: string): unknown {
  if (v === null || v === undefined) return v;
  const names = fields[type];
  if (!names) throw new Error(`no field list for ${type}`);
  const out: Record<string, unknown> = {};
  const o = v as Record<string, unknown>;
  for (const spec of names) {
    const [name, nested] = spec.split(':') as [string, string | undefined];
    const x = o[name];
    if (nested && Array.isArray(x)) out[name] = x.map((e) => plain(e, fields, nested));
    else if (nested) out[name] = plain(x, fields, nested);
    else if (x instanceof Uint8Array || Array.isArray(x)) out[name] = bytesOf(x);
    else out[name] = x;
  }
  return out;
}

function bytesOf(x: Uint8Array | unknown[]): unknown {
  if (Array.isArray(x) && x.every((e) => typeof e === 'number') && !(x instanceof Uint8Array)) {
    return { kind: Object.isFrozen(x) ? 'frozen-array' : 'array', data: [...x] };
  }
  return { kind: Buffer.isBuffer(x) ? 'Buffer' : 'Uint8Array', data: [...(x as Uint8Array)] };
}

/** What decoding gave: the value as plain data, or the error's kind ("ProtocolError:CODE" or "throws"). */
export function outcome(decode: () => unknown, toPlain: (v: unknown) => unknown): { ok: unknown } | { error: string } {
  let v: unknown;
  try {
    v = decode();
  } catch (err) {
    return { error: err instanceof ProtocolError ? `ProtocolError:${err.code}` : 'throws' };
  }
  return { ok: toPlain(v) };
}

/** Both forms a decoder meets: a Buffer (sockets, gRPC) and a plain Uint8Array. */
export function bothForms(bytes: Uint8Array): Uint8Array[] {
  return [Buffer.from(bytes), new Uint8Array(bytes)];
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** `inner` wrapped as a length-delimited field along `path` (outermost first), e.g. [1, 6]: items[].hello. */
export function wrapIn(path: readonly number[], inner: Uint8Array): Uint8Array {
  let bytes = Array.from(inner);
  for (let i = path.length - 1; i >= 0; i--) bytes = [...varint(path[i]! * 8 + 2), ...varint(bytes.length), ...bytes];
  return Uint8Array.from(bytes);
}

/** Raw hostile fields (./fuzz/proto-gen.ts) at the top or nested along one of `paths`. */
export function hostileAt(paths: readonly (readonly number[])[]): fc.Arbitrary<Uint8Array> {
  return fc.tuple(rawMessage, fc.constantFrom([] as readonly number[], ...paths)).map(([raw, path]) => wrapIn(path, raw));
}
