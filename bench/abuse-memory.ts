// Gateway memory under abuse, and whether other users keep being served
// (issue 15). One system (deploy/local-system.ts: a real uWS gateway and chat
// service as processes), three kinds of abuse in turn, each bounded in count
// and time, loopback only:
//   never-reads   a client that stops reading while others send it 60 KB
//                 messages: the gateway must close it at
//                 socket_backpressure_bytes_max (4008), not buffer without end;
//   one-user      one user opening --same-user-conns connections (2,000);
//   burst         --burst-conns connections (1,000) each sending two batches
//                 of conn_frames_burst_max pings back to back: the first is
//                 within the limit, the second is refused RATE_LIMITED.
// Per phase: the gateway's RSS before, at its peak (sampled every 100 ms) and
// after (1 s after the abusers left), and a probe pair exchanging a message
// every 100 ms throughout: its delivery latency p50/max and failures.
// Per-user connection limits are not this bench's to add (registration and
// limits: the authz branch); it measures what happens without them.
//
// Usage: node dist/bench/abuse-memory.js [--same-user-conns 2000] [--burst-conns 1000] [--json out.json]
// The bench process holds the abusers' sockets too (one descriptor each, 20,000 per process here).
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { percentileOfSorted } from '../lib/stats';
import { ChatClient } from '../loadgen/client/chat-client';
import { PROVISIONED_USER_ID_MIN } from '../server/common/ids';
import { encodeClientFrame, frameBatch } from '../server/common/protocol';
import { mintToken } from '../server/common/token';

/** The limits the system runs with: a small burst so "at the limit" costs the bench little; the rate limit is per connection. */
const LIMITS_ENV = { WA_CONN_FRAMES_BURST_MAX: '256', WA_CONN_FRAMES_PER_SECOND_MAX: '200' };
const BURST = 256;
const CONNS_MAX = 5_000;
const PHASE_TIMEOUT_MS = 60_000;
const BIG_BODY_BYTES = 60 * 1024;

interface Args { sameUserConns: number; burstConns: number; json: string | null }

function parseArgs(argv: string[]): Args {
  const a: Args = { sameUserConns: 2000, burstConns: 1000, json: null };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, v] = [argv[i], argv[i + 1]];
    if (flag === '--json' && v) a.json = v;
    else if ((flag === '--same-user-conns' || flag === '--burst-conns') && Number.isInteger(Number(v)) && Number(v) >= 1 && Number(v) <= CONNS_MAX) {
      a[flag === '--same-user-conns' ? 'sameUserConns' : 'burstConns'] = Number(v);
    } else {
      throw new Error(`usage: abuse-memory [--same-user-conns 1..${CONNS_MAX}] [--burst-conns 1..${CONNS_MAX}] [--json FILE]; bad ${flag} ${v ?? ''}`);
    }
  }
  return a;
}

interface PhaseFigures {
  phase: string;
  rss_mb_before: number;
  rss_mb_peak: number;
  rss_mb_after: number;
  probe_sent: number;
  probe_failed: number;
  probe_latency_ms_p50: number;
  probe_latency_ms_max: number;
  notes: string;
}

const MB = 1024 * 1024;
let nextUser = PROVISIONED_USER_ID_MIN + (Date.now() % 1_000_000) * 1000;

function connect(sys: RunningSystem, user = nextUser++): Promise<ChatClient> {
  return ChatClient.connect({ url: sys.gatewayUrl, token: mintToken(sys.secret, user, 3600), kind: 'lean', ackDelayMs: null, requestTimeoutMs: 10_000 });
}

/** Open `n` connections, at most 100 upgrades in flight. */
async function connectMany(sys: RunningSystem, n: number, userOf: (i: number) => number): Promise<ChatClient[]> {
  const out: ChatClient[] = [];
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      out.push(await connect(sys, userOf(i)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(100, n) }, lane));
  return out;
}

function gatewayRss(sys: RunningSystem): number {
  return (sys.rssBytes()['gateway-0'] ?? 0) / MB;
}

/** A pair exchanging one message every 100 ms while `abuse` runs; the gateway's RSS sampled meanwhile. */
async function phase(sys: RunningSystem, name: string, abuse: () => Promise<string>): Promise<PhaseFigures> {
  const [p, q] = [await connect(sys), await connect(sys)];
  const qUser = nextUser - 1;
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  q.onMessage = (m) => {
    const t = sentAt.get(Buffer.from(m.body).toString());
    if (t !== undefined) latencies.push(performance.now() - t);
  };
  await new Promise((r) => setTimeout(r, 300));
  const before = gatewayRss(sys);
  let peak = before;
  let running = true;
  let sent = 0;
  let failed = 0;
  const probe = (async () => {
    while (running) {
      const body = `probe-${name}-${sent++}`;
      sentAt.set(body, performance.now());
      await p.send(qUser, Buffer.from(body)).catch(() => failed++);
      peak = Math.max(peak, gatewayRss(sys));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const deadline = setTimeout(() => {
    console.error(`abuse-memory: phase ${name} ran over ${PHASE_TIMEOUT_MS} ms`);
    process.exit(1);
  }, PHASE_TIMEOUT_MS);
  const notes = await abuse();
  clearTimeout(deadline);
  await new Promise((r) => setTimeout(r, 1000));
  running = false;
  await probe;
  await new Promise((r) => setTimeout(r, 300));
  const after = gatewayRss(sys);
  p.close();
  q.close();
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    phase: name, rss_mb_before: round1(before), rss_mb_peak: round1(peak), rss_mb_after: round1(after),
    probe_sent: sent, probe_failed: failed + Math.max(0, sent - failed - latencies.length),
    probe_latency_ms_p50: round1(sorted.length ? percentileOfSorted(sorted, 50) : NaN), probe_latency_ms_max: round1(sorted.at(-1) ?? NaN), notes,
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

async function neverReads(sys: RunningSystem): Promise<string> {
  const reader = await connect(sys);
  const readerUser = nextUser - 1;
  // Live delivery starts after the (empty) offline drain; a reader that stopped before it would only fill its offline queue.
  const drained = new Promise<void>((resolve) => (reader.onDrainDone = () => resolve()));
  await drained;
  reader.pauseReading();
  const closes = async () => (await fetch(`${sys.gatewayHttp(0)}/healthz`).then((r) => r.json()) as { backpressure_closes: number }).backpressure_closes;
  const closesBefore = await closes();
  const senders = await connectMany(sys, 4, () => nextUser++);
  const body = Buffer.alloc(BIG_BODY_BYTES, 0x61);
  // 4 senders x 100 messages x 60 KB = 24 MB toward a socket that reads nothing; 100 each stays within the burst.
  let acked = 0;
  const refused = new Map<string, number>();
  await Promise.all(senders.map((s) => Promise.all(Array.from({ length: 100 }, () => s.send(readerUser, body).then(() => acked++, (e: Error) => {
    const why = e.message.split(':')[0]!;
    refused.set(why, (refused.get(why) ?? 0) + 1);
  })))));
  // The reader reads nothing, so it cannot see its own close: the gateway's count says it happened.
  const t0 = performance.now();
  while ((await closes()) === closesBefore && performance.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 100));
  const closedAfterMs = Math.round(performance.now() - t0);
  for (const s of senders) s.close();
  reader.close();
  const closed = (await closes()) - closesBefore;
  return `${acked} x 60 KB acked toward a reader that never reads (refused: ${JSON.stringify(Object.fromEntries(refused))}): ` +
    `${closed === 1 ? `closed by the gateway at socket_backpressure_bytes_max (4008) ${closedAfterMs} ms after the sends were acked` : 'NOT closed within 10 s'}`;
}

async function oneUserManyConns(sys: RunningSystem, n: number): Promise<string> {
  const user = nextUser++;
  const rss0 = gatewayRss(sys);
  const t0 = performance.now();
  const conns = await connectMany(sys, n, () => user);
  const opened = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 500));
  const rss1 = gatewayRss(sys);
  for (const c of conns) c.close();
  return `${n} connections of one user opened in ${Math.round(opened)} ms; gateway +${round1(rss1 - rss0)} MB while open ` +
    `(${Math.round(((rss1 - rss0) * MB) / n)} bytes per connection)`;
}

async function burstAtLimit(sys: RunningSystem, n: number): Promise<string> {
  const conns = await connectMany(sys, n, () => nextUser++);
  let errors = 0;
  let pongs = 0;
  for (const c of conns) {
    c.onError = () => errors++;
    c.onFrame = (f) => { if (f.body === 'pong') pongs++; };
  }
  const batch = frameBatch(Array.from({ length: BURST }, (_, i) => encodeClientFrame({ ref: 0, ping: { client_time_ms: i } })));
  const t0 = performance.now();
  for (const c of conns) {
    c.sendRaw(batch); // the whole burst allowance
    c.sendRaw(batch); // at once again: over the limit
  }
  while (pongs + errors < n * (BURST + 1) && performance.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 100));
  const ms = performance.now() - t0;
  for (const c of conns) c.close();
  return `${n} connections x 2 batches of ${BURST} pings: ${pongs} pongs, ${errors} RATE_LIMITED refusals in ${Math.round(ms)} ms`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const sys = await startSystem({ env: LIMITS_ENV });
  const figures: PhaseFigures[] = [];
  try {
    figures.push(await phase(sys, 'one-user', () => oneUserManyConns(sys, args.sameUserConns)));
    figures.push(await phase(sys, 'burst', () => burstAtLimit(sys, args.burstConns)));
    figures.push(await phase(sys, 'never-reads', () => neverReads(sys)));
  } finally {
    await sys.stop();
  }
  const [l1] = loadavg();
  console.log(`abuse-memory: ${new Date().toISOString()}, ${availableParallelism()} cores, load ${l1!.toFixed(2)}; limits ${JSON.stringify(LIMITS_ENV)}`);
  console.log('phase         gateway RSS MB before / peak / after   probe sent failed  latency ms p50 / max');
  for (const f of figures) {
    console.log(`${f.phase.padEnd(13)} ${String(f.rss_mb_before).padStart(8)} / ${String(f.rss_mb_peak).padStart(6)} / ${String(f.rss_mb_after).padStart(6)}` +
      `   ${String(f.probe_sent).padStart(10)} ${String(f.probe_failed).padStart(6)}  ${String(f.probe_latency_ms_p50).padStart(8)} / ${f.probe_latency_ms_max}`);
    console.log(`              ${f.notes}`);
  }
  if (args.json) writeFileSync(args.json, `${JSON.stringify({ generated_at: new Date().toISOString(), load_avg: loadavg(), limits: LIMITS_ENV, phases: figures }, null, 2)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
