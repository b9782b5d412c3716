// The ScyllaDB store's write path as the chat service drives it, on the local
// Apache Cassandra 5 node, next to a raw cassandra-driver baseline writing the
// same rows with the same concurrency. (cassandra-stress would be the classic
// baseline, but it is not obtainable here: Maven Central has no Cassandra 5.x
// binary tarball, only the cassandra-all jars, and the stress tool is not among
// them. The "raw, stress-like" row is the closest thing: single-row inserts of
// our message rows, a fixed number in flight, no batch barrier.)
//
// Variants, each for --seconds per batch size, one commit in flight at a time
// (the engine commits once per tick and waits for it):
//   store tick        findByClientIds(B keys) then commit(B messages + the watermark flush every 200 ms)
//   store commit      commit(B messages) only
//   store 1/req       the same commit with batching off (batch_statements_max=0: one request per row)
//   store fenced      the same commit carrying fences for the partitions it touches (after claiming all
//                     1,024 once): what the multi-node chat tier's fence check adds (fences.ts)
//   fence check       the check alone: a commit with no writes and fences for `batch` partitions (figures
//                     per check, not per message)
//   point read        one findByClientIds lookup of one key (one point read), the yardstick for the above
//   raw tick          the same reads and the same rows' writes, one driver request per row
//   raw writes        the same rows' writes only (messages, client_ids, user_chats inbox, id_high_water)
//   raw stress-like   message-row inserts only, requests_in_flight_max in flight continuously
// All use the same in-flight bound (requests_in_flight_max); "raw" is what a
// store without batching, caches or bookkeeping would cost.
//
//   node dist/bench/scylla-store.js [--seconds 6] [--batches 64,256,512] [--chats 2000]
//        [--contact-point 127.0.0.1:9042] [--rf 1] [--consistency LOCAL_QUORUM] [--json out.json]
//        [--variants store-commit,store-fenced]   (a cluster: --contact-point 127.0.0.1:P --rf 3)
// Without --contact-point it starts (and afterwards stops) its own node in
// ~/.cache/wa-scale/cassandra/bench-<time> on free ports, deleted afterwards.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Client, types } from 'cassandra-driver';
import { directChatId, partitionOf } from '../server/common/chat-id';
import { IdGenerator, PROVISIONED_USER_ID_MIN } from '../server/common/ids';
import { processCpuSeconds } from '../lib/proc-cpu';
import { scyllaConfig, SCYLLA_DEFAULTS, type ConsistencyName } from '../server/store/scylla/config';
import { InFlightLimiter } from '../server/store/scylla/limiter';
import { startLocalNode, stopLocalNode, wipeLocalNode, type LocalNode } from '../deploy/cassandra-node';
import { openScyllaStore, type ScyllaStore } from '../server/store/scylla/scylla-store';
import { ChatKind, MessageKind, emptyBatch, type ChatState, type StoredMessage, type WatermarkUpdate } from '../server/store/store';
import { percentileOfSorted as percentile } from '../lib/stats';

const BODY_BYTES = 100;
const WATERMARK_FLUSH_MS = 200; // server/chat/engine.ts

interface VariantResult {
  variant: string;
  batch: number;
  messages: number;
  seconds: number;
  msgsPerSecond: number;
  commitP50Ms: number;
  commitP99Ms: number;
  cassandraCpuUsPerMsg: number;
  benchCpuUsPerMsg: number;
  loadavg1: number;
}

class Workload {
  readonly ids = new IdGenerator(1);
  private n = 0;
  readonly chats: ChatState[] = [];
  readonly body = Buffer.alloc(BODY_BYTES, 0x61);
  private readonly heads = new Map<string, { id: number; seq: number }>();
  /** chat -> the latest message, for the next watermark flush. */
  private readonly dirty = new Map<string, StoredMessage>();
  private lastFlush = Date.now();

  constructor(chats: number) {
    for (let i = 0; i < chats; i++) {
      const a = PROVISIONED_USER_ID_MIN + 50_000_000 + 2 * i;
      const b = a + 1;
      this.chats.push({
        chat_id: directChatId(a, b), kind: ChatKind.Direct, last_id: 0, last_seq: 0, name: '', created_by: 0,
        members: new Map([a, b].map((u) => [u, { user: u, delivered_id: 0, delivered_seq: 0, read_id: 0, joined_seq: 0, admin: false }])),
      });
    }
  }

  /** B messages on random chats, senders alternating, as the engine would stage them. */
  messages(count: number): StoredMessage[] {
    const out: StoredMessage[] = [];
    for (let i = 0; i < count; i++) {
      const chat = this.chats[Math.floor(Math.random() * this.chats.length)]!;
      const head = this.heads.get(chat.chat_id) ?? { id: 0, seq: 0 };
      const users = [...chat.members.keys()];
      const id = this.ids.next();
      head.id = id;
      head.seq += 1;
      this.heads.set(chat.chat_id, head);
      const m: StoredMessage = {
        id, chat_id: chat.chat_id, seq: head.seq, sender: users[head.seq % 2]!, client_msg_id: `b${++this.n}`,
        body: this.body, sent_at_ms: Date.now(), kind: MessageKind.User,
      };
      this.dirty.set(chat.chat_id, m);
      out.push(m);
    }
    return out;
  }

  /** Every WATERMARK_FLUSH_MS: both members of every chat that moved are caught up (acks arrived). */
  watermarks(): WatermarkUpdate[] {
    const now = Date.now();
    if (now - this.lastFlush < WATERMARK_FLUSH_MS) return [];
    this.lastFlush = now;
    const out: WatermarkUpdate[] = [];
    for (const [chatId, m] of this.dirty) {
      for (const u of directMembers(chatId)) out.push({ chat_id: chatId, user: u, delivered_id: m.id, delivered_seq: m.seq, read_id: m.id });
    }
    this.dirty.clear();
    return out;
  }
}

function directMembers(chatId: string): number[] {
  return chatId.slice(2).split('.').map(Number);
}

/** The rows a commit of `msgs` writes, as plain driver calls (what the store does, minus its bookkeeping). */
function rawWrites(
  ks: string, msgs: StoredMessage[], wms: WatermarkUpdate[], bucketOf: (id: number) => number, inboxTtl: number, clientTtl: number,
): [string, unknown[]][] {
  const w: [string, unknown[]][] = [];
  for (const x of wms) {
    w.push([`UPDATE ${ks}.chat_members SET delivered_id = ?, delivered_seq = ?, read_id = ?, admin = ? WHERE chat_id = ? AND user_id = ?`,
      [x.delivered_id, x.delivered_seq, x.read_id, false, x.chat_id, x.user]]);
    w.push([`UPDATE ${ks}.user_chats SET delivered_id = ?, delivered_seq = ? WHERE user_id = ? AND chat_id = ?`, [x.delivered_id, x.delivered_seq, x.user, x.chat_id]]);
  }
  let max = 0;
  for (const m of msgs) {
    w.push([`INSERT INTO ${ks}.messages (chat_id, bucket, id, seq, sender, client_msg_id, body, sent_at_ms, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [m.chat_id, bucketOf(m.id), m.id, m.seq, m.sender, m.client_msg_id, m.body, m.sent_at_ms, m.kind]]);
    w.push([`INSERT INTO ${ks}.client_ids (sender, client_msg_id, chat_id, id) VALUES (?, ?, ?, ?) USING TTL ?`, [m.sender, m.client_msg_id, m.chat_id, m.id, clientTtl]]);
    const to = directMembers(m.chat_id).find((u) => u !== m.sender)!;
    w.push([`UPDATE ${ks}.user_chats USING TTL ? SET last_id = ?, last_seq = ? WHERE user_id = ? AND chat_id = ?`, [inboxTtl, m.id, m.seq, to, m.chat_id]]);
    max = Math.max(max, m.id);
  }
  w.push([`UPDATE ${ks}.id_high_water USING TIMESTAMP ? SET max_id = ? WHERE node = ?`, [max, max, 1]]);
  return w;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '6' },
      batches: { type: 'string', default: '64,256,512' },
      chats: { type: 'string', default: '2000' },
      'contact-point': { type: 'string' },
      consistency: { type: 'string', default: 'LOCAL_QUORUM' },
      rf: { type: 'string', default: '1' },
      variants: { type: 'string', default: 'store-tick,store-commit,store-fenced,store-1req,raw-tick,raw-writes,raw-stress' },
      json: { type: 'string' },
    },
  });
  const seconds = Number(values.seconds);
  const batches = values.batches!.split(',').map(Number);
  const variants = new Set(values.variants!.split(','));
  let node: LocalNode | null = null;
  try {
    let contactPoint = values['contact-point'];
    if (!contactPoint) {
      node = await startLocalNode({ name: `bench-${Date.now().toString(36)}`, wipeIfStartFails: true });
      contactPoint = node.contactPoint;
      console.log(`Cassandra 5 node on ${contactPoint} started in ${(node.startMs / 1000).toFixed(1)} s (${node.dataDir})`);
    }
    await bench(contactPoint, node, seconds, batches, variants, values);
  } finally {
    if (node) {
      await stopLocalNode(node);
      await wipeLocalNode({ dataDir: node.dataDir });
    }
  }
}

async function bench(
  contactPoint: string, node: LocalNode | null, seconds: number, batches: number[], variants: Set<string>,
  values: { consistency?: string; chats?: string; json?: string; rf?: string },
): Promise<void> {
  const cassandraPid = node ? Number(readFileSync(join(node.dataDir, 'cassandra.pid'), 'utf8')) : 0;
  const ks = `wa_bench_${Date.now().toString(36)}`;
  const config = scyllaConfig({}, {
    contact_points: [contactPoint], keyspace: ks, migrate: true, consistency: values.consistency!.toUpperCase() as ConsistencyName,
    replication_factor: Number(values.rf ?? 1),
  });
  const store: ScyllaStore = await openScyllaStore(config);
  const unbatched: ScyllaStore = await openScyllaStore({ ...config, migrate: false, batch_statements_max: 0 });
  const raw = new Client({ contactPoints: [contactPoint], localDataCenter: config.local_dc });
  await raw.connect();
  const rawLimiter = new InFlightLimiter(config.requests_in_flight_max);
  const opts = { prepare: true, isIdempotent: true, consistency: types.consistencies[values.consistency === 'LOCAL_ONE' ? 'localOne' : 'localQuorum'] };
  const results: VariantResult[] = [];
  try {
    const work = new Workload(Number(values.chats));
    for (let i = 0; i < work.chats.length; i += 500) await store.commit({ ...emptyBatch(), new_chats: work.chats.slice(i, i + 500) });
    const fenceToken = 1;
    if (variants.has('store-fenced') || variants.has('fence-check')) await store.claimPartitions(Array.from({ length: 1024 }, (_, p) => p), fenceToken);
    console.log(`store write path on ${contactPoint}: ${work.chats.length} 1:1 chats, ${BODY_BYTES}-byte bodies, ${seconds} s per run, ` +
      `requests_in_flight_max=${config.requests_in_flight_max}, batch_statements_max=${config.batch_statements_max}, ` +
      `batch_bytes_max=${config.batch_bytes_max}, consistency ${config.consistency}; ${cpus().length} cores, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    console.log('variant          batch   msgs/s   tick p50 ms  tick p99 ms  cassandra us/msg  bench us/msg  load1');
    const bucketOf = (id: number) => store.bucketOf(id);
    const runVariant = async (variant: string, batch: number, tick: () => Promise<number>): Promise<void> => {
      // warm-up (prepares, JIT), not measured
      const warmEnd = Date.now() + 1000;
      while (Date.now() < warmEnd) await tick();
      const lat: number[] = [];
      const c0 = cassandraPid ? processCpuSeconds(cassandraPid) ?? 0 : 0;
      const b0 = process.cpuUsage();
      const t0 = performance.now();
      let messages = 0;
      while (performance.now() - t0 < seconds * 1000) {
        const s = performance.now();
        messages += await tick();
        lat.push(performance.now() - s);
      }
      const elapsed = (performance.now() - t0) / 1000;
      const cpuC = cassandraPid ? (processCpuSeconds(cassandraPid) ?? 0) - c0 : 0;
      const cpuB = process.cpuUsage(b0);
      lat.sort((a, b) => a - b);
      const r: VariantResult = {
        variant, batch, messages, seconds: elapsed, msgsPerSecond: messages / elapsed,
        commitP50Ms: percentile(lat, 50), commitP99Ms: percentile(lat, 99),
        cassandraCpuUsPerMsg: (cpuC * 1e6) / messages, benchCpuUsPerMsg: (cpuB.user + cpuB.system) / messages, loadavg1: loadavg()[0]!,
      };
      results.push(r);
      console.log(`${variant.padEnd(15)} ${String(batch).padStart(6)} ${r.msgsPerSecond.toFixed(0).padStart(8)} ${r.commitP50Ms.toFixed(1).padStart(12)} ${r.commitP99Ms.toFixed(1).padStart(12)} ` +
        `${cassandraPid ? r.cassandraCpuUsPerMsg.toFixed(0).padStart(17) : '              n/a'} ${r.benchCpuUsPerMsg.toFixed(0).padStart(13)} ${r.loadavg1.toFixed(2).padStart(6)}`);
    };

    for (const batch of batches) {
      if (variants.has('store-tick')) {
        await runVariant('store tick', batch, async () => {
          const msgs = work.messages(batch);
          await store.findByClientIds(msgs.map((m) => ({ sender: m.sender, client_msg_id: m.client_msg_id })));
          await store.commit({ ...emptyBatch(), messages: msgs, watermarks: work.watermarks() });
          return msgs.length;
        });
      }
      if (variants.has('store-commit')) {
        await runVariant('store commit', batch, async () => {
          const msgs = work.messages(batch);
          await store.commit({ ...emptyBatch(), messages: msgs });
          return msgs.length;
        });
      }
      if (variants.has('store-fenced')) {
        await runVariant('store fenced', batch, async () => {
          const msgs = work.messages(batch);
          const fences = [...new Set(msgs.map((m) => partitionOf(m.chat_id)))].map((partition) => ({ partition, token: fenceToken }));
          await store.commit({ ...emptyBatch(), messages: msgs, fences });
          return msgs.length;
        });
      }
      if (variants.has('fence-check')) {
        await runVariant('fence check', batch, async () => {
          const fences = Array.from({ length: batch }, () => ({ partition: Math.floor(Math.random() * 1024), token: fenceToken }));
          await store.commit({ ...emptyBatch(), fences });
          return 1;
        });
      }
      if (variants.has('point-read')) {
        await runVariant('point read', 1, async () => {
          await store.findByClientIds([{ sender: 1, client_msg_id: `x${Math.random()}` }]);
          return 1;
        });
      }
      if (variants.has('store-1req')) {
        await runVariant('store 1/req', batch, async () => {
          const msgs = work.messages(batch);
          await unbatched.commit({ ...emptyBatch(), messages: msgs });
          return msgs.length;
        });
      }
      const rawRound = async (withReads: boolean) => {
        const msgs = work.messages(batch);
        if (withReads) {
          await rawLimiter.forEach(msgs, (m) => raw.execute(`SELECT chat_id, id FROM ${ks}.client_ids WHERE sender = ? AND client_msg_id = ?`, [m.sender, m.client_msg_id], opts));
        }
        const writes = rawWrites(ks, msgs, withReads ? work.watermarks() : [], bucketOf, config.inbox_ttl_seconds, config.client_id_ttl_seconds);
        await rawLimiter.forEach(writes, (w) => raw.execute(w[0], w[1], opts));
        return msgs.length;
      };
      if (variants.has('raw-tick')) await runVariant('raw tick', batch, () => rawRound(true));
      if (variants.has('raw-writes')) await runVariant('raw writes', batch, () => rawRound(false));
    }
    if (variants.has('raw-stress')) {
      // cassandra-stress-like: single-row inserts of message rows, a fixed number in flight, no barrier.
      const inFlight = config.requests_in_flight_max;
      const q = `INSERT INTO ${ks}.messages (chat_id, bucket, id, seq, sender, client_msg_id, body, sent_at_ms, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
      await runVariant('raw stress-like', inFlight, async () => {
        const msgs = work.messages(inFlight * 8);
        let next = 0;
        const worker = async () => {
          while (next < msgs.length) {
            const m = msgs[next++]!;
            await raw.execute(q, [m.chat_id, bucketOf(m.id), m.id, m.seq, m.sender, m.client_msg_id, m.body, m.sent_at_ms, m.kind], opts);
          }
        };
        await Promise.all(Array.from({ length: inFlight }, worker));
        return msgs.length;
      });
    }
    // Issue 14's store goal: the store's commit path against the raw driver insert loop on the same node (>= 0.8).
    const best = (v: string) => Math.max(0, ...results.filter((r) => r.variant === v).map((r) => r.msgsPerSecond));
    if (best('store commit') > 0 && best('raw stress-like') > 0) {
      console.log(`store commit (best batch) / raw stress-like: ${best('store commit').toFixed(0)} msgs/s / ${best('raw stress-like').toFixed(0)} rows/s = ` +
        `${(best('store commit') / best('raw stress-like')).toFixed(2)}`);
    }
  } finally {
    await raw.shutdown().catch(() => {});
    await store.close().catch(() => {});
    await unbatched.close().catch(() => {});
  }
  if (values.json) {
    // replication_factor, own_node and the machine let the capacity model tell a per-node CPU figure (one node it started, RF 1) from others.
    writeFileSync(values.json, JSON.stringify({
      contactPoint, defaults: SCYLLA_DEFAULTS, replication_factor: config.replication_factor, consistency: config.consistency, own_node: node !== null,
      machine: { cpus: cpus().length, load_avg: loadavg() }, generated_at: new Date().toISOString(), results,
    }, null, 2));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
