// The generator's per-message client path, in process and deterministic: CPU
// and socket writes per 1:1 message, no sockets, no server, so a change to the
// path shows whatever else runs on the machine.
//
// Usage: node dist/bench/loadgen-client-cost.js [--messages 20000] [--clients 100] [--repeats 3] [--baseline DIR]
//
// What one message costs the generator here (what a run's worker thread does
// for it, minus the world's bookkeeping and the kernel): the sender's
// hand-encoded Send frame queued on its connection; the server's replies fed
// to the clients as recorded ServerBatches (the sent ack to the sender, the
// delivery to the recipient, the delivered receipt to the sender, and for one
// message in two a read receipt), each as its own WebSocket message; the
// recipient's coalesced delivered ack (ackDelayMs 0: the next timer turn) and
// its read ack (markRead) for one message in two. Transports are in-process
// objects that count what the client would write: each `send` is one
// WebSocket message, i.e. one socket write of that connection in that turn.
//
// Two pacings: `spread` (one message per event-loop turn, as at 1-2k msg/s
// where every frame arrives on its own turn) and `burst` (32 messages per
// turn, as at high rates). --baseline DIR loads the ChatClient of another
// build (e.g. a `npx tsc --outDir DIR` of main) and runs it alternately with
// this one, for a side-by-side ratio in one run. Bounded: --messages <= 200k,
// --clients <= 2000, --repeats <= 10.
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ChatClient } from '../loadgen/client/chat-client';
import type { Transport } from '../loadgen/client/transport';
import { encodeSendFrame } from '../loadgen/drivers/system-connection';
import { encodeServerFrame, frameBatch, ReceiptKind } from '../server/common/protocol';
import { TurnBatcher } from '../lib/turn-batcher';

interface Args {
  messages: number;
  clients: number;
  repeats: number;
  baseline: string | null;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { messages: 20_000, clients: 100, repeats: 3, baseline: null };
  const limits: Record<string, [keyof Args, number, number]> = {
    '--messages': ['messages', 100, 200_000], '--clients': ['clients', 2, 2000], '--repeats': ['repeats', 1, 10],
  };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]!;
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--baseline') {
      a.baseline = path.resolve(v);
      continue;
    }
    const l = limits[flag];
    if (!l) throw new Error(`unknown flag ${flag} (--messages, --clients, --repeats, --baseline DIR)`);
    const n = Number(v);
    if (!Number.isInteger(n) || n < l[1] || n > l[2]) throw new Error(`${flag} must be an integer within ${l[1]}..${l[2]}`);
    (a as unknown as Record<string, number>)[l[0]] = n;
  }
  return a;
}

/** What a build must offer: the client, and how the generator queues a pre-encoded send on it. */
interface Impl {
  name: string;
  make(t: Transport): ChatLike;
  /** Queue a pre-encoded ClientFrame as the generator's SystemConnection does in that build. */
  queueSend(c: ChatLike, frame: Uint8Array): void;
}

interface ChatLike {
  onMessage: (m: { chat_id: string; id: number }) => void;
  onReceipt: (r: unknown) => void;
  onFrame: (f: unknown) => void;
  ack(chatId: string, delivered: number, read: number): void;
  sendRaw(data: Uint8Array): void;
  queueFrame?(frame: Uint8Array): void;
}

const OPTS = { ackDelayMs: 0, autoRead: false };

function currentImpl(): Impl {
  return {
    name: 'this build',
    make: (t) => ChatClient.over(t, OPTS) as unknown as ChatLike,
    queueSend: (c, f) => c.queueFrame!(f),
  };
}

/** Another build's ChatClient; before queueFrame existed, the generator batched its sends apart (its own per-turn batch). */
function baselineImpl(dir: string): Impl {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path.join(dir, 'loadgen/client/chat-client.js')) as { ChatClient: new (t: Transport, o: object) => ChatLike };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const proto = require(path.join(dir, 'server/common/protocol.js')) as { frameBatch: (f: Uint8Array[]) => Uint8Array };
  const own = new Map<ChatLike, Uint8Array[]>();
  const dirty = new TurnBatcher<ChatLike>((cs) => {
    for (const c of cs) {
      const frames = own.get(c)!;
      own.set(c, []);
      c.sendRaw(proto.frameBatch(frames));
    }
  });
  return {
    name: `baseline ${path.relative(process.cwd(), dir) || dir}`,
    make: (t) => {
      const c = new mod.ChatClient(t, { url: '', token: '', ...OPTS });
      if (typeof c.queueFrame === 'function') return c; // a build that has it: use it as that build's generator does
      own.set(c, []);
      return c;
    },
    queueSend: (c, f) => {
      if (typeof c.queueFrame === 'function') return c.queueFrame(f);
      const frames = own.get(c)!;
      frames.push(f);
      if (frames.length === 1) dirty.push(c);
    },
  };
}

class CountingTransport implements Transport {
  writes = 0;
  bytes = 0;
  onmessage: (data: Buffer) => void = () => {};
  onclose: (code: number, reason: string) => void = () => {};
  readonly bufferedAmount = 0;
  send(data: Uint8Array): void {
    this.writes++;
    this.bytes += data.length;
  }
  close(): void {}
  pause(): void {}
  resume(): void {}
}

/** Recorded server batches for message m, sender s -> recipient r (chat `c<s>`, id = seq = m/clients + 1). */
interface Recorded {
  sent: Buffer;
  delivery: Buffer;
  delivered: Buffer;
  read: Buffer | null;
  send: Uint8Array;
}

function record(messages: number, clients: number): Recorded[] {
  const body = Buffer.alloc(100, 7);
  const out: Recorded[] = [];
  for (let m = 0; m < messages; m++) {
    const s = m % clients;
    const r = (s + 1) % clients;
    const chat = `c${s}`;
    const id = Math.floor(m / clients) + 1;
    const cmid = `${s.toString(36)}.${id.toString(36)}`;
    const batch = (f: Parameters<typeof encodeServerFrame>[0]): Buffer => Buffer.from(frameBatch([encodeServerFrame(f)]));
    out.push({
      send: encodeSendFrame(m + 1, r + 1000, cmid, body),
      sent: batch({ sent: { ref: m + 1, client_msg_id: cmid, id, chat_id: chat, seq: id, server_time_ms: 1 } }),
      delivery: batch({ message: { id, chat_id: chat, seq: id, from_user: s + 1000, client_msg_id: cmid, body, sent_at_ms: 1, replay: false } as never }),
      delivered: batch({ receipt: { chat_id: chat, user: r + 1000, kind: ReceiptKind.DELIVERED, up_to_id: id } }),
      read: m % 2 === 0 ? batch({ receipt: { chat_id: chat, user: r + 1000, kind: ReceiptKind.READ, up_to_id: id } }) : null,
    });
  }
  return out;
}

const nextTimerTurn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

interface Result {
  cpuUsPerMsg: number;
  writesPerMsg: number;
  delivered: number;
}

/** One pass: `perTurn` messages fed per event-loop turn, then a timer turn (acks leave) before the next. */
async function pass(impl: Impl, rec: Recorded[], clients: number, perTurn: number): Promise<Result> {
  const ts: CountingTransport[] = [];
  const cs: ChatLike[] = [];
  let delivered = 0;
  for (let i = 0; i < clients; i++) {
    const t = new CountingTransport();
    const c = impl.make(t);
    c.onMessage = () => {
      delivered++;
    };
    ts.push(t);
    cs.push(c);
  }
  const cpu0 = process.cpuUsage();
  for (let m = 0; m < rec.length; ) {
    const end = Math.min(rec.length, m + perTurn);
    for (; m < end; m++) {
      const x = rec[m]!;
      const s = m % clients;
      const r = (s + 1) % clients;
      impl.queueSend(cs[s]!, x.send);
      ts[s]!.onmessage(x.sent);
      ts[r]!.onmessage(x.delivery);
      ts[s]!.onmessage(x.delivered);
      if (x.read) {
        const id = Math.floor(m / clients) + 1;
        cs[r]!.ack(`c${s}`, id, id); // the read wheel's markRead
        ts[s]!.onmessage(x.read);
      }
    }
    await nextTimerTurn(); // batches leave (setImmediate), then the ack clock's timer
    await nextTimerTurn();
  }
  const cpu = process.cpuUsage(cpu0);
  let writes = 0;
  for (const t of ts) writes += t.writes;
  return { cpuUsPerMsg: (cpu.user + cpu.system) / rec.length, writesPerMsg: writes / rec.length, delivered };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const impls = [currentImpl(), ...(args.baseline ? [baselineImpl(args.baseline)] : [])];
  const pacings = [
    { name: 'spread (1 msg/turn)', perTurn: 1, messages: Math.min(args.messages, 2000) },
    { name: 'burst (32 msgs/turn)', perTurn: 32, messages: args.messages },
  ];
  console.log(`loadgen client path: ${args.clients} clients, 100-byte bodies, ${args.repeats} alternating repeats (median shown)`);
  for (const p of pacings) {
    const rec = record(p.messages, args.clients);
    for (const impl of impls) await pass(impl, rec.slice(0, Math.min(rec.length, 2000)), args.clients, p.perTurn); // warm-up
    const runs = new Map<string, Result[]>(impls.map((i) => [i.name, []]));
    for (let k = 0; k < args.repeats; k++) {
      for (const impl of impls) {
        const r = await pass(impl, rec, args.clients, p.perTurn);
        if (r.delivered !== rec.length) throw new Error(`${impl.name}: ${r.delivered} of ${rec.length} delivered`);
        runs.get(impl.name)!.push(r);
      }
    }
    console.log(`\n${p.name}, ${p.messages} messages:`);
    const cur = median(runs.get(impls[0]!.name)!.map((r) => r.cpuUsPerMsg));
    for (const impl of impls) {
      const rs = runs.get(impl.name)!;
      const us = median(rs.map((r) => r.cpuUsPerMsg));
      const ratio = impl === impls[0] ? '' : `  (this build: ${(cur / us).toFixed(2)}x of it)`;
      console.log(`  ${impl.name.padEnd(28)} ${us.toFixed(2).padStart(7)} µs CPU/msg  ${rs[0]!.writesPerMsg.toFixed(3)} writes/msg${ratio}`);
    }
  }
  console.log(`\nat ${new Date().toISOString()}, load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}; t=${performance.now().toFixed(0)} ms`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
