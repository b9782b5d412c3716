// The hot frames' codecs, hand (server/common/codec/) vs protobufjs, side by
// side in one process: ns per operation for what one 1:1 message costs in
// encoding and decoding, and the ratio. Rounds alternate hand / protobufjs so
// both see the same machine; the figure of each is the median of its rounds.
//
// Usage: node dist/bench/wire-codecs.js [--ops 50000] [--rounds 5]
//
// Per message: decode ClientFrame send + ack (gateway edge; again in the chat
// service), encode ServerFrame sent + message + receipt (chat service), the
// client's side of both (load generator), and a
// GatewayBatch / ChatBatch of 16 items each way (per item: /16). Bounded:
// --ops <= 1,000,000, --rounds <= 20.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import protobuf from 'protobufjs';
import { decodeChatBatch, decodeGatewayBatch, encodeChatBatch, encodeGatewayBatch, type WireChatBatch, type WireGatewayBatch } from '../server/common/codec/grpc-batches';
import { PROTO_DIR } from '../server/common/paths';
import {
  ClientFrameType, decodeClientFrame, decodeServerFrame, encodeClientFrame, encodeServerFrame, ServerFrameType, type ServerFrameInit,
} from '../server/common/protocol';

const internal = new protobuf.Root();
internal.loadSync(join(PROTO_DIR, 'chat_service.proto'), { keepCase: true });
internal.resolveAll();
/** protobufjs's codecs, as the code used them before the hand codecs. */
const Ref = {
  ClientFrame: ClientFrameType, ServerFrame: ServerFrameType,
  GatewayBatch: internal.lookupType('wa.internal.GatewayBatch'), ChatBatch: internal.lookupType('wa.internal.ChatBatch'),
};
const refEncode = (t: protobuf.Type, v: object) => t.encode(v).finish();

const LIMITS = { ops_max: 1_000_000, rounds_max: 20 } as const;
const BODY = Buffer.alloc(100, 0x61);
const CHAT = 'd.1001.2001';
const T0 = 1_767_225_600_000;

interface Case { name: string; hand: (i: number) => unknown; pb: (i: number) => unknown; per: number }

function cases(): Case[] {
  const send = Buffer.from(encodeClientFrame({ ref: 7, send: { to_user: 2001, client_msg_id: 'm-123456', body: BODY } }));
  const ack = Buffer.from(encodeClientFrame({ ack: { chat_id: CHAT, delivered_up_to: T0 * 1000, read_up_to: T0 * 1000 } }));
  const server = (i: number): ServerFrameInit[] => [
    { sent: { ref: 7, client_msg_id: 'm-123456', id: T0 * 1000 + i, chat_id: CHAT, seq: i, server_time_ms: T0 + i } },
    { message: { id: T0 * 1000 + i, chat_id: CHAT, seq: i, from_user: 1001, client_msg_id: 'm-123456', body: BODY, sent_at_ms: T0 + i, replay: false } },
    { receipt: { chat_id: CHAT, user: 2001, kind: 2, up_to_id: T0 * 1000 + i } },
  ];
  const g: WireGatewayBatch = { items: Array.from({ length: 16 }, (_, i) => ({ conn: 5 + i, user: 1001 + i, frame: send, recv_at_us: 123_456_789 + i })), sent_at_us: 123_456_999 };
  const c: WireChatBatch = { items: Array.from({ length: 16 }, (_, i) => ({ frame: send, users: [2001 + i], conns: [], recv_at_us: 123_456_789 + i, close: false })) };
  const serverBytes = server(1).map((f) => Buffer.from(encodeServerFrame(f)));
  const clientInits = [
    { ref: 7, send: { to_user: 2001, client_msg_id: 'm-123456', body: BODY } },
    { ack: { chat_id: CHAT, delivered_up_to: T0 * 1000, read_up_to: T0 * 1000 } },
  ];
  const gBytes = encodeGatewayBatch(g);
  const cBytes = encodeChatBatch(c);
  return [
    { name: 'decode ClientFrame send + ack', per: 1, hand: () => [decodeClientFrame(send), decodeClientFrame(ack)],
      pb: () => [Ref.ClientFrame.decode(send), Ref.ClientFrame.decode(ack)] },
    { name: 'encode ServerFrame sent + message + receipt', per: 1, hand: (i) => server(i).map(encodeServerFrame),
      pb: (i) => server(i).map((f) => Ref.ServerFrame.encode(f).finish()) },
    { name: 'decode ServerFrame sent + message + receipt', per: 1, hand: () => serverBytes.map(decodeServerFrame),
      pb: () => serverBytes.map((b) => Ref.ServerFrame.decode(b)) },
    { name: 'encode ClientFrame send + ack', per: 1, hand: () => clientInits.map(encodeClientFrame),
      pb: () => clientInits.map((f) => Ref.ClientFrame.encode(f).finish()) },
    { name: 'encode GatewayBatch, per item', per: 16, hand: () => encodeGatewayBatch(g), pb: () => refEncode(Ref.GatewayBatch, g) },
    { name: 'decode GatewayBatch, per item', per: 16, hand: () => decodeGatewayBatch(gBytes), pb: () => Ref.GatewayBatch.decode(gBytes) },
    { name: 'encode ChatBatch, per item', per: 16, hand: () => encodeChatBatch(c), pb: () => refEncode(Ref.ChatBatch, c) },
    { name: 'decode ChatBatch, per item', per: 16, hand: () => decodeChatBatch(cBytes), pb: () => Ref.ChatBatch.decode(cBytes) },
  ];
}

let sink = 0;
function nsPerOp(fn: (i: number) => unknown, ops: number, per: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) if (fn(i)) sink++;
  return Number(process.hrtime.bigint() - t0) / ops / per;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

function main(): void {
  const { values } = parseArgs({ options: { ops: { type: 'string', default: '50000' }, rounds: { type: 'string', default: '5' } } });
  const ops = Number(values.ops);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(ops) || ops < 1 || ops > LIMITS.ops_max) throw new Error(`--ops must be 1..${LIMITS.ops_max}`);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > LIMITS.rounds_max) throw new Error(`--rounds must be 1..${LIMITS.rounds_max}`);
  console.log(`wire codecs: ${ops} ops x ${rounds} rounds, alternating hand / protobufjs (median ns per op)`);
  console.log(`${'operation'.padEnd(46)} ${'hand ns'.padStart(9)} ${'protobufjs ns'.padStart(14)} ${'ratio'.padStart(7)}`);
  for (const c of cases()) {
    const hand: number[] = [];
    const pb: number[] = [];
    nsPerOp(c.hand, Math.min(ops, 5000), c.per); // warm-up
    nsPerOp(c.pb, Math.min(ops, 5000), c.per);
    for (let r = 0; r < rounds; r++) {
      hand.push(nsPerOp(c.hand, ops, c.per));
      pb.push(nsPerOp(c.pb, ops, c.per));
    }
    const h = median(hand);
    const p = median(pb);
    console.log(`${c.name.padEnd(46)} ${h.toFixed(0).padStart(9)} ${p.toFixed(0).padStart(14)} ${(h / p).toFixed(2).padStart(7)}`);
  }
  if (sink < 0) console.log(sink);
}

main();
