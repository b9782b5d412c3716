// In-process cost of the chat engine + embedded store per message, without
// sockets or gRPC: feeds ticks of N sends (and the matching acks) through
// ChatEngine with a sink that only counts, and prints CPU microseconds per
// message for each tick size. Finds what the engine itself costs.
//
//   node dist/bench/chat-engine.js [--messages 50000] [--pairs 100]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ChatEngine, type LinkSink, type OutboundInit } from '../server/chat/engine';
import { DEFAULT_LIMITS } from '../server/common/config';
import { PROVISIONED_USER_ID_MIN } from '../server/common/ids';
import { decodeServerFrame, encodeClientFrame } from '../server/common/protocol';
import { SqliteStore } from '../server/store/embedded/sqlite-store';

class CountingSink implements LinkSink {
  readonly id = 'bench';
  items = 0;
  lastMessageIds: { chat: string; id: number; user: number }[] = [];
  constructor(private readonly captureMessages: boolean) {}
  push(item: OutboundInit): void {
    this.items++;
    if (this.captureMessages && item.users && item.users.length > 0) {
      const f = decodeServerFrame(item.frame);
      if (f.body === 'message') this.lastMessageIds.push({ chat: f.message.chat_id, id: f.message.id, user: item.users[0]! });
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { messages: { type: 'string', default: '40000' }, pairs: { type: 'string', default: '100' } } });
  const total = Number(values.messages);
  const pairs = Number(values.pairs);
  console.log(`chat engine + SQLite, in process: ${total} messages per tick size, ${pairs} pairs, acks for every delivery`);
  console.log('tick_size  us_per_message(cpu)  us_per_message(wall)  commits');
  for (const tickSize of [1, 8, 32, 128, 512]) {
    const dir = mkdtempSync(join(tmpdir(), 'wa-engine-bench-'));
    const store = new SqliteStore({ path: join(dir, 'm.sqlite') });
    const engine = new ChatEngine<CountingSink>(store, { ...DEFAULT_LIMITS });
    await engine.start();
    const sink = new CountingSink(true);
    const users = pairs * 2;
    for (let u = 0; u < users; u++) engine.enqueue(sink, { kind: 'connected', conn: u + 1, user: PROVISIONED_USER_ID_MIN + u });
    await drain(engine);
    sink.lastMessageIds = [];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let sent = 0;
    let n = 0;
    while (sent < total) {
      for (let i = 0; i < tickSize && sent < total; i++, sent++) {
        const from = sent % users;
        const to = from ^ 1;
        const frame = encodeClientFrame({ ref: 0, send: { to_user: PROVISIONED_USER_ID_MIN + to, client_msg_id: `c${n++}`, body: Buffer.alloc(100) } });
        engine.enqueue(sink, { kind: 'frame', conn: from + 1, user: PROVISIONED_USER_ID_MIN + from, frame, recv_at_us: 0 });
      }
      // acks for what was delivered in the previous tick
      for (const d of sink.lastMessageIds) {
        const frame = encodeClientFrame({ ref: 0, ack: { chat_id: d.chat, delivered_up_to: d.id } });
        engine.enqueue(sink, { kind: 'frame', conn: d.user - PROVISIONED_USER_ID_MIN + 1, user: d.user, frame, recv_at_us: 0 });
      }
      sink.lastMessageIds = [];
      await drain(engine);
    }
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - t0;
    console.log(`${String(tickSize).padStart(9)}  ${((cpu.user + cpu.system) / total).toFixed(1).padStart(19)}  ${((wall * 1000) / total).toFixed(1).padStart(20)}  ${engine.stats.ticks}`);
    engine.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function drain(engine: ChatEngine<CountingSink>): Promise<void> {
  // the engine runs its tick on setImmediate; two turns let it finish
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  while ((engine as unknown as { running: boolean }).running) await new Promise((r) => setImmediate(r));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
