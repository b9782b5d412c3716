// What the routes and presence directory (server/directory/) costs, in one run:
//
// (a) Per delivered message, a chat node finds the recipient's gateways. With
//     the replica that is a Map lookup in memory; without it, a Redis round trip
//     (HGETALL wa:routes:<user>) per message, awaited one by one or pipelined
//     100 at a time (one tick's worth). Side by side, same users.
// (b) Per session change (connect/disconnect): Redis commands run (scripts
//     included, INFO commandstats), Redis CPU, bytes published, and the time a
//     replica spends applying it, with 1 and 3 replicas subscribed and with
//     1 or 100 changes per gateway turn.
//
//   node dist/bench/directory-cost.js [--users 10000] [--lookups 1000000] [--round-trips 5000] [--changes 10000]
//   (make bench-directory)
import { parseArgs } from 'node:util';
import Redis from 'ioredis';
import { startRedis } from '../deploy/services/redis';
import { waitFor } from '../lib/async';
import { median } from '../lib/stats';
import { connectDirectory, type DirectoryClient } from '../server/directory/connect';
import { KEYS } from '../server/directory/limits';
import { RoutePublisher } from '../server/directory/publisher';
import { RouteReplica } from '../server/directory/replica';

const USER_MIN = 1_000_000;
const PIPELINE_DEPTH = 100;
const ROUNDS = 3;

interface Sample {
  wallNs: number;
  cpuNs: number;
}

/** Wall and CPU (this process) per operation of `n` operations. */
async function measure(n: number, run: () => Promise<void>): Promise<Sample> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await run();
  return { wallNs: Number(process.hrtime.bigint() - t0) / n, cpuNs: (cpuUs(c0) * 1000) / n };
}

interface Opts {
  users: number;
  lookups: number;
  roundTrips: number;
  changes: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '10000' },
      lookups: { type: 'string', default: '1000000' },
      'round-trips': { type: 'string', default: '5000' },
      changes: { type: 'string', default: '10000' },
    },
  });
  const opts: Opts = { users: Number(values.users), lookups: Number(values.lookups), roundTrips: Number(values['round-trips']), changes: Number(values.changes) };
  const redis = await startRedis();
  const admin = new Redis(redis.url);
  const clients: DirectoryClient[] = [];
  const client = async (name: string) => {
    const c = await connectDirectory(redis.url, { name });
    clients.push(c);
    return c;
  };
  try {
    console.log(`directory cost, Redis ${redis.url} (own instance), node ${process.version}`);
    await lookups(opts, client, admin);
    await admin.flushall();
    console.log('\n(b) per session change (connect or disconnect), Redis on the same host');
    console.log('replicas  changes/turn  redis_cmds/change  redis_cpu_us/change  bytes_published/change  replica_apply_us/change  node_cpu_us/change(*)  wall_us/change');
    for (const replicas of [1, 3]) {
      for (const perTurn of [1, 100]) {
        await changes(opts, client, admin, replicas, perTurn);
        await admin.flushall();
      }
    }
    console.log('(*) the publisher and every replica, one process: what the gateway and the chat nodes spend together');
    console.log('redis_cmds/change counts the commands inside the scripts; replica_apply_us is per replica (decode, state, events)');
  } finally {
    for (const c of clients) c.close();
    admin.disconnect();
    await redis.stop();
  }
}

async function lookups(opts: Opts, client: (name: string) => Promise<DirectoryClient>, admin: Redis): Promise<void> {
  const gw = await RoutePublisher.start(await client('bench-gw'), { gatewayId: 'bench-gw#a' });
  const replica = await RouteReplica.start(await client('bench-chat'));
  for (let i = 0; i < opts.users; i++) gw.connected(i + 1, USER_MIN + i);
  await waitFor(() => replica.sessions === opts.users, 30_000, 'replica loaded');
  console.log(`(a) per message: where is the recipient? ${opts.users} users online, random recipient each time`);
  const users = Array.from({ length: 4096 }, () => USER_MIN + Math.floor(Math.random() * opts.users));

  // Three rounds of each, interleaved; the median of each is printed (the box is shared: wall time is noisy, CPU less so).
  const mem: Sample[] = [];
  const rt: Sample[] = [];
  const pl: Sample[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    mem.push(await measure(opts.lookups, async () => {
      let found = 0;
      for (let i = 0; i < opts.lookups; i++) if (replica.routesOf(users[i & 4095]!) !== undefined) found++;
      if (found !== opts.lookups) throw new Error(`replica missed ${opts.lookups - found} lookups`);
    }));
    rt.push(await measure(opts.roundTrips, async () => {
      for (let i = 0; i < opts.roundTrips; i++) {
        const r = await admin.hgetall(KEYS.routes(users[i & 4095]!));
        if (Object.keys(r).length !== 1) throw new Error('Redis lookup missed');
      }
    }));
    pl.push(await measure(opts.roundTrips, async () => {
      for (let i = 0; i < opts.roundTrips; i += PIPELINE_DEPTH) {
        const p = admin.pipeline();
        for (let j = 0; j < PIPELINE_DEPTH; j++) p.hgetall(KEYS.routes(users[(i + j) & 4095]!));
        await p.exec();
      }
    }));
  }
  const [memNs, memCpuNs] = [median(mem.map((s) => s.wallNs)), median(mem.map((s) => s.cpuNs))];
  const [rtNs, rtCpuNs] = [median(rt.map((s) => s.wallNs)), median(rt.map((s) => s.cpuNs))];
  const [plNs, plCpuNs] = [median(pl.map((s) => s.wallNs)), median(pl.map((s) => s.cpuNs))];

  console.log('lookup                              wall_ns/lookup  chat_node_cpu_ns/lookup');
  console.log(`replica in memory (Map get)         ${pad(memNs)}  ${pad(memCpuNs)}`);
  console.log(`Redis HGETALL, one round trip each  ${pad(rtNs)}  ${pad(rtCpuNs)}`);
  console.log(`Redis HGETALL, pipelined x${PIPELINE_DEPTH}       ${pad(plNs)}  ${pad(plCpuNs)}`);
  console.log(`ratio: a Redis lookup costs ${(rtCpuNs / memCpuNs).toFixed(0)}x (awaited) / ${(plCpuNs / memCpuNs).toFixed(0)}x (pipelined) the replica's CPU per message`);
  replica.close();
  gw.halt();
}

async function changes(opts: Opts, client: (name: string) => Promise<DirectoryClient>, admin: Redis, replicaCount: number, perTurn: number): Promise<void> {
  const gwId = `bench-gw#r${replicaCount}t${perTurn}`;
  const gw = await RoutePublisher.start(await client(gwId), { gatewayId: gwId });
  const replicas: RouteReplica[] = [];
  for (let i = 0; i < replicaCount; i++) replicas.push(await RouteReplica.start(await client(`bench-chat-${i}`)));
  const half = Math.floor(opts.changes / 2);
  const cmds0 = await commandCalls(admin);
  const cpu0 = await redisCpuUs(admin);
  const node0 = process.cpuUsage();
  const t0 = performance.now();
  // Ups then downs of the same sessions, perTurn per event-loop turn.
  for (let i = 0; i < half; i += perTurn) {
    for (let j = i; j < Math.min(half, i + perTurn); j++) gw.connected(j + 1, USER_MIN + j);
    await new Promise((r) => setImmediate(r));
  }
  for (let i = 0; i < half; i += perTurn) {
    for (let j = i; j < Math.min(half, i + perTurn); j++) gw.disconnected(j + 1, USER_MIN + j);
    await new Promise((r) => setImmediate(r));
  }
  await waitFor(() => replicas.every((r) => r.stats.changes === half * 2), 60_000, 'replicas applied every change');
  const wallUs = ((performance.now() - t0) * 1000) / (half * 2);
  const nodeUs = cpuUs(node0) / (half * 2);
  const cmds = (await commandCalls(admin)) - cmds0 - 2; // minus the two INFO calls
  const redisUs = (await redisCpuUs(admin)) - cpu0;
  const n = half * 2;
  const bytes = replicas[0]!.stats.bytes / n;
  const applyUs = (replicas.reduce((s, r) => s + r.stats.applyMs, 0) * 1000) / replicas.length / n;
  console.log(`${pad(replicaCount, 8)}  ${pad(perTurn, 12)}  ${pad(cmds / n, 17, 1)}  ${pad(redisUs / n, 19, 1)}  ${pad(bytes, 22, 1)}  ${pad(applyUs, 23, 2)}  ${pad(nodeUs, 22, 1)}  ${pad(wallUs, 15, 1)}`);
  for (const r of replicas) r.close();
  await gw.close();
}

/** Commands Redis has run, scripts' inner calls included (INFO commandstats). */
async function commandCalls(admin: Redis): Promise<number> {
  const info = await admin.info('commandstats');
  let n = 0;
  for (const m of info.matchAll(/calls=(\d+)/g)) n += Number(m[1]);
  return n;
}

async function redisCpuUs(admin: Redis): Promise<number> {
  const info = await admin.info('cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
  return (user + sys) * 1e6;
}

function cpuUs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return d.user + d.system;
}

function pad(x: number, width = 14, digits = 0): string {
  return x.toFixed(digits).padStart(width);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
