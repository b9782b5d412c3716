// Re-accept rate: how many WebSocket connections per second a client
// population can (re)open and authenticate through HAProxy, next to the same
// population opening straight to the gateways, in one run on one system.
//
// Usage: node dist/bench/reaccept.js [--connections 2000] [--rounds 4] [--in-flight 64] [--json out.json]
//
// One system (chat service + 2 gateways, deploy/local-system.ts) and HAProxy in
// front of both gateways (deploy/services/haproxy.ts). Each round opens
// --connections / --rounds sockets one way, as the same users every round (a
// reconnect storm: the population comes back), at most --in-flight upgrades
// outstanding at once; a socket counts when its upgrade is answered 101, i.e.
// the gateway verified the user's token. Then every socket is closed and the
// other way runs; the ways alternate (direct first in odd rounds, HAProxy
// first in even ones) so drift in the machine's load falls on both. Reported:
// each way's rate (connections / wall time of its rounds), its connect latency
// p50/p99, and the ratio HAProxy / direct. The client, the servers and HAProxy
// share this machine's cores: the figures are a ratio on one box, not capacity.
// Bounded: --connections <= 10,000 per way, every upgrade times out after 10 s.
// --json writes the figures for the capacity model (kind 'reaccept', bench/bench-json.ts).
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { startHaproxy, type HaproxyServer } from '../deploy/services/haproxy';
import { percentileOfSorted } from '../lib/stats';
import { connectTransport, type Transport } from '../loadgen/client/transport';
import { PROVISIONED_USER_ID_MIN } from '../server/common/ids';
import { mintToken } from '../server/common/token';
import { takeJsonFlag, writeBenchJson } from './bench-json';

interface BenchArgs {
  connections: number;
  rounds: number;
  inFlight: number;
}

const CONNECT_TIMEOUT_MS = 10_000;

function parseArgs(argv: string[]): BenchArgs {
  const args: BenchArgs = { connections: 2000, rounds: 4, inFlight: 64 };
  const limits: Record<keyof BenchArgs, [string, number, number]> = {
    connections: ['--connections', 10, 10_000],
    rounds: ['--rounds', 1, 20],
    inFlight: ['--in-flight', 1, 1024],
  };
  for (let i = 0; i < argv.length; i += 2) {
    const entry = (Object.entries(limits) as [keyof BenchArgs, [string, number, number]][]).find(([, [flag]]) => flag === argv[i]);
    const value = Number(argv[i + 1]);
    if (entry === undefined || !Number.isInteger(value)) {
      throw new Error(`usage: reaccept [--connections N] [--rounds N] [--in-flight N] [--json FILE]; bad argument ${argv[i]} ${argv[i + 1] ?? ''}`);
    }
    const [key, [flag, min, max]] = entry;
    if (value < min || value > max) throw new Error(`${flag} must be within [${min}, ${max}]`);
    args[key] = value;
  }
  return args;
}

interface Way {
  name: 'direct' | 'haproxy';
  /** The URL for the k-th socket of a round. */
  url: (k: number) => string;
  ms: number;
  opened: number;
  failed: number;
  latenciesMs: number[];
  /** Each counted round's rate (conn/s): their spread says how noisy the machine was. */
  roundRates: number[];
}

/** Open one socket per token, at most `inFlight` upgrades outstanding; close them all; return the wall time. */
async function round(way: Way, tokens: string[], inFlight: number): Promise<void> {
  const open: Transport[] = [];
  let next = 0;
  const start = performance.now();
  const openedBefore = way.opened;
  const lane = async () => {
    while (next < tokens.length) {
      const k = next++;
      const t0 = performance.now();
      try {
        const t = await connectTransport({ url: way.url(k), token: tokens[k]!, kind: 'lean', connectTimeoutMs: CONNECT_TIMEOUT_MS });
        t.onmessage = () => {};
        open.push(t);
        way.latenciesMs.push(performance.now() - t0);
        way.opened++;
      } catch {
        way.failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, tokens.length) }, lane));
  const ms = performance.now() - start;
  way.ms += ms;
  way.roundRates.push(Math.round((way.opened - openedBefore) / (ms / 1000)));
  await closeAll(open);
}

async function closeAll(open: Transport[]): Promise<void> {
  await Promise.all(open.map((t) => new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 2000);
    t.onclose = () => {
      clearTimeout(timer);
      resolve();
    };
    t.close(1000, 'bench round over');
  })));
}

function report(w: Way): string {
  const sorted = [...w.latenciesMs].sort((a, b) => a - b);
  const rate = w.opened / (w.ms / 1000);
  return `${w.name.padEnd(8)} ${Math.round(rate).toLocaleString('en').padStart(7)} conn/s   opened ${w.opened}, failed ${w.failed}   ` +
    `connect p50 ${percentileOfSorted(sorted, 50).toFixed(1)} ms, p99 ${percentileOfSorted(sorted, 99).toFixed(1)} ms   rounds ${w.roundRates.join(', ')} conn/s`;
}

async function main(): Promise<void> {
  const { json, rest } = takeJsonFlag(process.argv.slice(2));
  const args = parseArgs(rest);
  const perRound = Math.ceil(args.connections / args.rounds);
  let sys: RunningSystem | null = null;
  let hp: HaproxyServer | null = null;
  try {
    sys = await startSystem({ gateways: 2 });
    hp = await startHaproxy({ serverPorts: sys.gatewayPorts });
    for (const p of sys.gatewayPorts) await hp.waitServer(p, true, 5000);
    const ports = sys.gatewayPorts;
    const tokens = Array.from({ length: perRound }, (_, k) => mintToken(sys!.secret, PROVISIONED_USER_ID_MIN + 900_000_000 + k, 3600));
    const haproxyUrl = hp.url;
    const ways: Way[] = [
      { name: 'direct', url: (k) => `ws://127.0.0.1:${ports[k % ports.length]}/v1/ws`, ms: 0, opened: 0, failed: 0, latenciesMs: [], roundRates: [] },
      { name: 'haproxy', url: () => haproxyUrl, ms: 0, opened: 0, failed: 0, latenciesMs: [], roundRates: [] },
    ];
    console.log(`reaccept: ${perRound} sockets per round x ${args.rounds} rounds each way, ${args.inFlight} upgrades in flight; 2 gateways; HAProxy ${hp.url}`);
    // Warm-up (JIT, gateway and chat-service paths) on both ways; not counted.
    for (const w of ways) await round({ ...w, ms: 0, opened: 0, failed: 0, latenciesMs: [], roundRates: [] }, tokens.slice(0, Math.min(200, perRound)), args.inFlight);
    for (let r = 0; r < args.rounds; r++) {
      const order = r % 2 === 0 ? ways : [...ways].reverse();
      for (const w of order) await round(w, tokens, args.inFlight);
    }
    for (const w of ways) console.log(report(w));
    const [direct, viaHaproxy] = ways.map((w) => w.opened / (w.ms / 1000));
    console.log(`ratio haproxy/direct ${(viaHaproxy! / direct!).toFixed(2)} (machine load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores)`);
    if (json) {
      const figures = (w: Way) => {
        const sorted = [...w.latenciesMs].sort((a, b) => a - b);
        return { conns_per_s: w.opened / (w.ms / 1000), opened: w.opened, failed: w.failed,
          connect_ms_p50: percentileOfSorted(sorted, 50), connect_ms_p99: percentileOfSorted(sorted, 99) };
      };
      writeBenchJson(json, 'reaccept', {
        connections: args.connections, rounds: args.rounds, in_flight: args.inFlight, gateways: ports.length,
        direct: figures(ways[0]!), haproxy: figures(ways[1]!), ratio_haproxy_direct: viaHaproxy! / direct!,
      });
    }
  } finally {
    await hp?.stop();
    await sys?.stop();
  }
}

main().catch((err) => {
  console.error(`reaccept: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
