// The capacity probe: measures on this machine the per-node figures the 1:1
// runs do not give, and writes them to capacity-probe.json for the capacity
// command (adapters/probe.ts):
//   connections_per_gib    - gateway RSS growth while holding N idle authenticated connections
//   reconnect_accept_per_s - all N clients drop, then reconnect at once: connections/s the gateway accepted
//   redis_ops_per_s        - redis-benchmark (GET/SET, pipelined 16, 50 clients) against a Redis this probe starts
//
//   node dist/tools/capacity-model/probe.js [--connections 5000] [--concurrency 256] [--no-redis] [--out results/<run>]
//
// Everything runs on loopback, is bounded (connections_max), and stops by itself. The load
// generator shares the machine with the gateway, so both rates are lower bounds.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { PROVISIONED_USER_ID_MIN } from '../../server/common/ids';
import { REPO_ROOT } from '../../server/common/paths';
import { mintToken } from '../../server/common/token';
import { startSystem, waitFor, type RunningSystem } from '../../deploy/local-system';
import { ChatClient } from '../../loadgen/client/chat-client';
import { processRssBytes } from '../../lib/proc-cpu';
import { PROBE_KIND, type ProbeReport } from './adapters/probe';
import { BYTES_PER_GIB } from './units';
import { freePort } from '../../lib/net';

/** Above this, one process's file descriptors (ulimit) and one loopback address's ports run short. */
const CONNECTIONS_MAX = 15_000;
const CONCURRENCY_MAX = 2_048;
const WARMUP_CONNECTIONS = 200;
const SETTLE_MS = 1_500;
const REDIS_BENCH_REQUESTS = 200_000;
const REDIS_BENCH_TIMEOUT_MS = 60_000;

/** Kernel slab caches a TCP connection's socket, file and epoll registration live in (one set per end). */
const SOCKET_SLABS = ['TCP', 'sock_inode_cache', 'filp', 'dentry', 'eventpoll_epi', 'eventpoll_pwq'];
const PAGE_BYTES = 4096;

/** Bytes the kernel holds in socket-related slabs plus TCP buffer pages; null if /proc/slabinfo is unreadable. */
export function kernelSocketBytes(): number | null {
  try {
    let bytes = 0;
    for (const line of readFileSync('/proc/slabinfo', 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/);
      if (SOCKET_SLABS.includes(f[0]!)) bytes += Number(f[1]) * Number(f[3]); // active_objs * objsize
    }
    const m = /TCP: .* mem (\d+)/.exec(readFileSync('/proc/net/sockstat', 'utf8'));
    return bytes + (m ? Number(m[1]) * PAGE_BYTES : 0);
  } catch {
    return null;
  }
}

async function connectAll(sys: RunningSystem, secret: string, firstUser: number, count: number, concurrency: number): Promise<ChatClient[]> {
  const clients: ChatClient[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      clients[i] = await ChatClient.connect({ url: sys.gatewayUrl, token: mintToken(secret, firstUser + i, 3600), kind: 'lean', ackDelayMs: 5 });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return clients;
}

async function closeAll(sys: RunningSystem, clients: ChatClient[]): Promise<void> {
  for (const c of clients) c.close();
  await waitFor(async () => (await sys.health()).connections === 0, 30_000, 'the gateway to see every connection closed');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}


function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

async function probeRedis(notes: string[]): Promise<ProbeReport['redis']> {
  if (!hasCommand('redis-server') || !hasCommand('redis-benchmark')) {
    notes.push('redis-server/redis-benchmark not installed: redis_ops_per_s not measured');
    return null;
  }
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('Ready to accept connections'), 10_000, 'redis-server to start');
    const args = ['-p', String(port), '-t', 'get,set', '-n', String(REDIS_BENCH_REQUESTS), '-c', '50', '-P', '16', '--csv'];
    const bench = spawnSync('redis-benchmark', args, { encoding: 'utf8', timeout: REDIS_BENCH_TIMEOUT_MS });
    const rps: Record<string, number> = {};
    for (const line of bench.stdout.split('\n')) {
      const m = /^"(GET|SET)","([\d.]+)"/.exec(line.trim());
      if (m) rps[m[1]!] = Number(m[2]);
    }
    if (!rps.GET || !rps.SET) {
      notes.push(`redis-benchmark gave no GET/SET rates: ${bench.stderr || bench.stdout}`.slice(0, 300));
      return null;
    }
    return {
      ops_per_s: Math.min(rps.GET, rps.SET),
      command: `redis-benchmark ${args.join(' ')}`,
      detail: `GET ${Math.round(rps.GET)}/s, SET ${Math.round(rps.SET)}/s (the lower is used); pipelined 16 deep as a chat node batching route lookups would`,
    };
  } finally {
    server.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '5000' },
      concurrency: { type: 'string', default: '256' },
      'no-redis': { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log('usage: node dist/tools/capacity-model/probe.js [--connections 5000] [--concurrency 256] [--no-redis] [--out results/<run>]');
    return;
  }
  const count = Number(values.connections);
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(count) || count < 100 || count > CONNECTIONS_MAX) throw new Error(`--connections must be 100..${CONNECTIONS_MAX}`);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > CONCURRENCY_MAX) throw new Error(`--concurrency must be 1..${CONCURRENCY_MAX}`);
  const runId = `${new Date().toISOString().replace(/[:.]/g, '-')}-capacity-probe`;
  const outDir = values.out ?? join(REPO_ROOT, 'results', runId);
  const notes: string[] = [];

  console.log('starting the system: chat service + gateway (embedded store) ...');
  const sys = await startSystem({});
  const secret = sys.secret;
  const gatewayPid = sys.gateways[0]!.child.pid!;
  const firstUser = PROVISIONED_USER_ID_MIN + (Date.now() % 1_000_000_000);
  let report: ProbeReport;
  try {
    // Warm up (code paths, allocator pools), so the baseline is not the empty process.
    await closeAll(sys, await connectAll(sys, secret, firstUser, WARMUP_CONNECTIONS, concurrency));
    await sleep(SETTLE_MS);
    const rssBefore = processRssBytes(gatewayPid) ?? 0;
    const kernelBefore = kernelSocketBytes();
    console.log(`holding ${count} idle connections ...`);
    let clients = await connectAll(sys, secret, firstUser, count, concurrency);
    await waitFor(async () => (await sys.health()).connections === count, 30_000, `${count} connections on the gateway`);
    await sleep(SETTLE_MS);
    const rssAfter = processRssBytes(gatewayPid) ?? 0;
    const kernelAfter = kernelSocketBytes();
    const rssPerConnection = Math.max(1, (rssAfter - rssBefore) / count);
    // Both ends of every connection are on this machine, with the same kernel objects: half is the gateway's.
    const kernelPerConnection = kernelBefore !== null && kernelAfter !== null ? Math.max(0, (kernelAfter - kernelBefore) / (2 * count)) : null;
    const bytesPerConnection = rssPerConnection + (kernelPerConnection ?? 0);
    console.log(`  gateway RSS ${(rssBefore / 2 ** 20).toFixed(1)} -> ${(rssAfter / 2 ** 20).toFixed(1)} MiB: ${Math.round(rssPerConnection)} B per connection` +
      (kernelPerConnection === null ? ' (kernel socket memory not readable)' : ` + ${Math.round(kernelPerConnection)} B in the kernel`));
    if (rssAfter <= rssBefore) notes.push('gateway RSS did not grow: bytes per connection clamped to 1 (too few connections to see)');
    notes.push(kernelPerConnection === null
      ? 'kernel socket memory not readable (/proc/slabinfo): connections_per_gib counts the gateway RSS only'
      : `kernel socket memory from /proc/slabinfo (${SOCKET_SLABS.join(', ')}) and TCP buffer pages, halved (both ends are local); ` +
        'other processes allocating meanwhile add noise');

    console.log(`reconnect flood: all ${count} drop, then reconnect at once (${concurrency} in flight) ...`);
    await closeAll(sys, clients);
    const t0 = performance.now();
    clients = await connectAll(sys, secret, firstUser, count, concurrency);
    await waitFor(async () => (await sys.health()).connections === count, 30_000, `${count} reconnections on the gateway`);
    const durationMs = performance.now() - t0;
    console.log(`  ${count} reconnected in ${durationMs.toFixed(0)} ms: ${Math.round((count * 1000) / durationMs)} conns/s`);
    await closeAll(sys, clients);

    const redis = values['no-redis'] ? null : await probeRedis(notes);
    if (redis) console.log(`  redis: ${Math.round(redis.ops_per_s)} ops/s (${redis.detail})`);
    report = {
      kind: PROBE_KIND,
      run_id: runId,
      machine: { hostname: hostname(), cpus: cpus().length, node: process.version },
      command: `node dist/tools/capacity-model/probe.js ${process.argv.slice(2).join(' ')}`.trim(),
      connections: {
        count, gateway_rss_bytes_before: rssBefore, gateway_rss_bytes_after: rssAfter,
        rss_bytes_per_connection: rssPerConnection, kernel_bytes_per_connection: kernelPerConnection,
        bytes_per_connection: bytesPerConnection, connections_per_gib: BYTES_PER_GIB / bytesPerConnection,
      },
      reconnect: { count, duration_ms: durationMs, accept_per_s: (count * 1000) / durationMs, concurrency },
      redis,
      notes,
    };
  } finally {
    await sys.stop();
  }
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'capacity-probe.json'), JSON.stringify(report, null, 2));
  console.log(`results: ${join(outDir, 'capacity-probe.json')}`);
}

main().catch((err) => {
  console.error(`probe failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
