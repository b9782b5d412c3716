// The deterministic gate's workload: a fixed in-process run whose instruction
// count (valgrind callgrind, tools/perf-gate/callgrind.ts) is the figure the
// gate judges. It drives the code of the tree at --root (that tree's dist/),
// so the same driver measures a baseline worktree and the candidate alike.
//
// Sections, each between a zero mark and a dump mark that callgrind watches
// for (os.hostname() -> --zero-before=node::os::GetHostname, os.uptime() ->
// --dump-before=node::os::GetUptime; nothing else in this process calls them):
//   1 chat     the chat engine and the embedded store (SQLite in memory) over
//              --messages 1:1 messages in pairs: send, tick, delivered+read
//              ack (a receipt to the sender), tick; the effects go to a fake
//              sink (test/helpers/engine-harness.ts).
//   2 gateway  per message, what a gateway and the chat's wire do with the
//              bytes: split the client's batch, decode and validate its frames
//              (send, ack), encode the server frames (sent, message, receipt)
//              and batch them as a socket write does.
//   3 unit     --units-probe units of the slowdown aid's fixed work (10 per call), so a
//              slowdown can be asked for as a percentage of a message's cost.
// A warm-up of --warmup messages (5,000 in the gate) runs first in each
// section's code, outside the measured part, so the figure is the steady
// path, not the JIT's start: under --predictable the compiles run on the main
// thread, where callgrind counts them.
//
// Usage: node dist/tools/perf-gate/instr-workload.js --root <tree> [--messages 2000]
//        [--warmup 5000] [--chat-work 0] [--gateway-work 0] [--units-probe 1000]
import { existsSync } from 'node:fs';
import { hostname, uptime } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type * as ProtocolModule from '../../server/common/protocol';
import type * as ValidationModule from '../../server/common/validation';
import type * as ConfigModule from '../../server/common/config';
import type * as DebugSlowdownModule from '../../server/common/debug-slowdown';
import type * as InboundModule from '../../server/gateway/inbound-frame';
import { INSTR_WORKLOAD } from './instr-config';

/** Users sending in each round: a tick then carries PAIRS messages, as a busy chat service's would. */
const PAIRS = INSTR_WORKLOAD.pairs;
const UNITS_PER_CALL = 10;
const BODY = Buffer.alloc(INSTR_WORKLOAD.body_bytes, 0x61);

/**
 * What the workload uses of the tree's test/helpers/engine-harness.ts, stated
 * here because tools never import tests (.dependency-cruiser.cjs): the tree's
 * harness is loaded at run time from its dist/.
 */
interface Harness {
  engine: object;
  log: { of(t: 'message'): { users: readonly number[]; msg: { chat_id: string; id: number } }[]; clear(): void };
  start(): Promise<Harness>;
  newUser(): Promise<number>;
  connect(user: number): Promise<number>;
  send(from: number, to: number, text: string, cmid: string): void;
  ack(user: number, chatId: string, deliveredUpTo: number, readUpTo: number): void;
  settle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Each section starts (before its warm-up) from a collected heap, so garbage
 * another section left, or a slowdown aid's compiled code there, cannot move a
 * collection into this one. Measured: without it, 100 units of chat-side aid
 * moved the gateway figure by 4.7%; with it by < 0.1%.
 */
function freshHeap(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc (tools/perf-gate/callgrind.ts does)');
  gc();
}

function zeroMark(): void {
  hostname();
}
function dumpMark(): void {
  uptime();
}

/**
 * Every module of the measured code comes from the tree at --root, none from
 * the driver's own tree (it imports only ./instr-config, constants): with the
 * driver sharing a module with the candidate tree but not with the baseline,
 * the same build's gateway section read 20,863 vs 21,297 instructions per
 * message (tools/perf-gate/built-copy.ts).
 */
function load<T>(root: string, rel: string): T {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return require(join(root, 'dist', rel)) as T;
}

async function chatSection(root: string, warmup: number, messages: number, work: number): Promise<void> {
  freshHeap();
  const { EngineHarness } = load<{ EngineHarness: new () => Harness }>(root, 'test/helpers/engine-harness.js');
  const h = await new EngineHarness().start();
  (h.engine as unknown as { debugSlowdownWork: number }).debugSlowdownWork = work;
  const pairs: { a: number; b: number }[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const a = await h.newUser();
    const b = await h.newUser();
    await h.connect(a);
    await h.connect(b);
    pairs.push({ a, b });
  }
  let n = 0;
  const round = async (): Promise<void> => {
    for (const { a, b } of pairs) h.send(a, b, 'x', `m-${a}-${n++}`);
    await h.settle();
    for (const e of h.log.of('message')) {
      const to = e.users[0]!;
      h.ack(to, e.msg.chat_id, e.msg.id, e.msg.id);
    }
    h.log.clear();
    await h.settle();
    h.log.clear();
  };
  for (let i = 0; i < Math.ceil(warmup / PAIRS); i++) await round();
  zeroMark();
  for (let i = 0; i < Math.ceil(messages / PAIRS); i++) await round();
  dumpMark();
  await h.close();
}

type ReadFrame = (bytes: Uint8Array) => boolean;

/** The tree's per-frame inbound step; before inbound-frame.ts existed, the same decode + validate inline. */
function frameReader(root: string, work: number): ReadFrame {
  const limits = load<typeof ConfigModule>(root, 'server/common/config.js').DEFAULT_LIMITS;
  if (existsSync(join(root, 'dist/server/gateway/inbound-frame.js'))) {
    const inbound = load<typeof InboundModule>(root, 'server/gateway/inbound-frame.js');
    const { readInboundFrame } = inbound;
    const { InboundReject } = inbound;
    return (bytes) => !(readInboundFrame(bytes, limits, work) instanceof InboundReject);
  }
  const { decodeClientFrame } = load<typeof ProtocolModule>(root, 'server/common/protocol.js');
  const { clientFrameProblem } = load<typeof ValidationModule>(root, 'server/common/validation.js');
  return (bytes) => clientFrameProblem(decodeClientFrame(bytes), limits) === null;
}

function gatewaySection(root: string, warmup: number, messages: number, work: number): void {
  freshHeap();
  const p = load<typeof ProtocolModule>(root, 'server/common/protocol.js');
  const read = frameReader(root, work);
  const limits = load<typeof ConfigModule>(root, 'server/common/config.js').DEFAULT_LIMITS;
  // The client's batches are the client's work: encoded before the measured part.
  const total = warmup + messages;
  const inbound: Uint8Array[] = [];
  for (let i = 0; i < total; i++) {
    const chat = `d:${1000 + (i % PAIRS)}:${2000 + (i % PAIRS)}`;
    inbound.push(p.frameBatch([
      p.encodeClientFrame({ ref: i + 1, send: { to_user: 2000 + (i % PAIRS), client_msg_id: `m-${i}`, body: BODY } }),
      p.encodeClientFrame({ ack: { chat_id: chat, delivered_up_to: i + 1, read_up_to: i + 1 } }),
    ]));
  }
  const out = Buffer.alloc(64 * 1024);
  let bad = 0;
  const one = (i: number): void => {
    for (const f of p.splitBatch(inbound[i]!, limits.batch_frames_max)) if (!read(f)) bad++;
    const chat = `d:${1000 + (i % PAIRS)}:${2000 + (i % PAIRS)}`;
    const frames = [
      p.encodeServerFrame({ sent: { ref: i + 1, client_msg_id: `m-${i}`, id: i + 1, chat_id: chat, seq: i + 1, server_time_ms: 1_767_225_600_000 + i } }),
      p.encodeServerFrame({ message: { id: i + 1, chat_id: chat, seq: i + 1, from_user: 1000 + (i % PAIRS), client_msg_id: `m-${i}`, body: BODY, sent_at_ms: 1_767_225_600_000 + i, replay: false } }),
      p.encodeServerFrame({ receipt: { chat_id: chat, user: 2000 + (i % PAIRS), kind: 2, up_to_id: i + 1 } }),
    ];
    let at = 0;
    for (const f of frames) at = p.writeBatchEntry(out, at, f);
  };
  for (let i = 0; i < warmup; i++) one(i);
  zeroMark();
  for (let i = warmup; i < total; i++) one(i);
  dumpMark();
  if (bad > 0) throw new Error(`${bad} workload frames failed validation: the workload no longer matches the protocol`);
}

function unitSection(root: string, units: number): void {
  freshHeap();
  const { burnWork } = load<typeof DebugSlowdownModule>(root, 'server/common/debug-slowdown.js');
  // Called as the aid calls it, several units at a time, so the call's own cost is spread as it is there.
  for (let i = 0; i < 100; i++) burnWork(UNITS_PER_CALL);
  zeroMark();
  for (let i = 0; i < units / UNITS_PER_CALL; i++) burnWork(UNITS_PER_CALL);
  dumpMark();
}

function count(v: string | undefined, name: string, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`--${name} ${v}: an integer in 0..${max}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      root: { type: 'string' }, messages: { type: 'string' }, warmup: { type: 'string' },
      'chat-work': { type: 'string' }, 'gateway-work': { type: 'string' }, 'units-probe': { type: 'string' },
    },
  });
  if (!values.root) throw new Error('--root <tree with dist/> is required');
  const root = resolve(values.root);
  const L = INSTR_WORKLOAD;
  const messages = count(values.messages, 'messages', L.messages, L.messages_max);
  const warmup = count(values.warmup, 'warmup', L.warmup, L.messages_max);
  const chatWork = count(values['chat-work'], 'chat-work', 0, L.work_max);
  const gatewayWork = count(values['gateway-work'], 'gateway-work', 0, L.work_max);
  const units = count(values['units-probe'], 'units-probe', L.units_probe, L.units_probe_max);
  if (units === 0 || units % UNITS_PER_CALL !== 0) throw new Error(`--units-probe ${units}: a positive multiple of ${UNITS_PER_CALL}`);
  await chatSection(root, warmup, messages, chatWork);
  gatewaySection(root, warmup, messages, gatewayWork);
  unitSection(root, units);
  console.log(JSON.stringify({ sections: ['chat', 'gateway', 'unit'], messages, warmup, units, chat_work: chatWork, gateway_work: gatewayWork }));
}

main().catch((err) => {
  console.error(`instr-workload: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
