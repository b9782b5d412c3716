// What TLS costs the load generator per message: the lean client over ws://
// and over wss:// through the same HAProxy (which terminates TLS), side by
// side in one run, as this process's CPU (process.cpuUsage, user + system)
// per message. The system (one gateway, the chat service) and HAProxy are
// child processes, so only the generator's side is charged here: its frames
// encrypted and decrypted by node:tls (OpenSSL) instead of written in clear.
//
// Usage: node dist/bench/loadgen-tls-cost.js [--pairs 20] [--messages 4000] [--rate 1000] [--rounds 3] [--json FILE]
//
// Per message, as in a run's worker: the sender's Send frame, its sent ack
// and delivered receipt, the recipient's delivery and its coalesced delivered
// ack (ackDelayMs 5). Both transports' clients stay connected throughout;
// rounds alternate ws, wss, ws, wss... (so drift on a shared box hits both
// alike), each sending --messages at --rate (open loop, round-robin over the
// pairs) and ending when every message is acknowledged and delivered. The
// certificate is made here with openssl (self-signed, SAN localhost, one day)
// and trusted from memory. Also printed: the CPU of the TLS handshakes (per
// connection, wss minus ws). Bounded: --pairs <= 500, --messages <= 100k,
// --rate <= 20k, --rounds <= 10; a round that does not finish in 60 s fails.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { startHaproxy, type HaproxyServer } from '../deploy/services/haproxy';
import { ChatClient } from '../loadgen/client/chat-client';
import type { TlsClientOptions } from '../loadgen/client/ws-handshake';
import { provisionUsers } from '../loadgen/engine/provision';
import { freshUserBase } from '../loadgen/engine/local-target';
import { mintToken } from '../server/common/token';

const ROUND_TIMEOUT_MS = 60_000;
const TICK_MS = 10;
const PAYLOAD_BYTES = 100;

interface Args {
  pairs: number;
  messages: number;
  rate: number;
  rounds: number;
  json: string | null;
}

type Kind = 'ws' | 'wss';

interface Round {
  transport: Kind;
  messages: number;
  cpu_us: number;
  us_per_message: number;
  seconds: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { pairs: 20, messages: 4000, rate: 1000, rounds: 3, json: null };
  const limits: Record<string, [keyof Args, number, number]> = {
    '--pairs': ['pairs', 1, 500], '--messages': ['messages', 100, 100_000], '--rate': ['rate', 10, 20_000], '--rounds': ['rounds', 1, 10],
  };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]!;
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--json') {
      a.json = v;
      continue;
    }
    const l = limits[flag];
    if (!l) throw new Error(`unknown flag ${flag} (--pairs, --messages, --rate, --rounds, --json FILE)`);
    const n = Number(v);
    if (!Number.isInteger(n) || n < l[1] || n > l[2]) throw new Error(`${flag} must be an integer within ${l[1]}..${l[2]}`);
    (a as unknown as Record<string, number>)[l[0]] = n;
  }
  return a;
}

/** A self-signed certificate for localhost (its own trust anchor) and HAProxy's PEM (certificate, then key). */
function makeCertificate(dir: string): { pemPath: string; ca: string } {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', 'server.key', '-out', 'server.crt'], { cwd: dir, stdio: 'pipe' });
  const ca = readFileSync(join(dir, 'server.crt'), 'utf8');
  const pemPath = join(dir, 'server.pem');
  writeFileSync(pemPath, ca + readFileSync(join(dir, 'server.key'), 'utf8'), { mode: 0o600 });
  return { pemPath, ca };
}

const cpuUs = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

class Pairs {
  delivered = 0;
  acked = 0;
  private constructor(readonly kind: Kind, readonly senders: ChatClient[], readonly receivers: ChatClient[], readonly receiverIds: number[]) {}

  static async open(kind: Kind, url: string, tls: TlsClientOptions | undefined, sys: RunningSystem, first: number, pairs: number): Promise<{ p: Pairs; handshakeCpuUs: number }> {
    const connect = (user: number) => ChatClient.connect({ url, kind: 'lean', tls, token: mintToken(sys.secret, user, 3600), ackDelayMs: 5, requestTimeoutMs: 30_000 });
    const senders: ChatClient[] = [];
    const receivers: ChatClient[] = [];
    const ids = Array.from({ length: pairs }, (_, i) => first + pairs + i);
    const before = cpuUs();
    for (let i = 0; i < pairs; i++) {
      senders.push(await connect(first + i));
      receivers.push(await connect(ids[i]!));
    }
    const handshakeCpuUs = cpuUs() - before;
    const p = new Pairs(kind, senders, receivers, ids);
    for (const r of receivers) r.onMessage = () => p.delivered++;
    return { p, handshakeCpuUs };
  }

  /** Sends `total` messages at `rate`/s; resolves when all are acknowledged and delivered. */
  async round(total: number, rate: number): Promise<Round> {
    this.delivered = 0;
    this.acked = 0;
    const body = Buffer.alloc(PAYLOAD_BYTES, 0x61);
    let sent = 0;
    const t0 = performance.now();
    const c0 = cpuUs();
    let failure: Error | null = null;
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
        for (; sent < due; sent++) {
          const k = sent % this.senders.length;
          this.senders[k]!.send(this.receiverIds[k]!, body).then(() => this.acked++, (err: Error) => (failure ??= err));
        }
        if (failure) {
          clearInterval(timer);
          reject(failure);
        } else if (sent === total && this.acked === total && this.delivered >= total) {
          clearInterval(timer);
          resolve();
        } else if (performance.now() - t0 > ROUND_TIMEOUT_MS) {
          clearInterval(timer);
          reject(new Error(`${this.kind}: round not done in ${ROUND_TIMEOUT_MS} ms (sent ${sent}, acked ${this.acked}, delivered ${this.delivered})`));
        }
      }, TICK_MS);
    });
    const cpu = cpuUs() - c0;
    return { transport: this.kind, messages: total, cpu_us: cpu, us_per_message: cpu / total, seconds: (performance.now() - t0) / 1000 };
  }

  close(): void {
    for (const c of [...this.senders, ...this.receivers]) c.close();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'wa-bench-tls-'));
  let sys: RunningSystem | null = null;
  let hp: HaproxyServer | null = null;
  const open: Pairs[] = [];
  try {
    const cert = makeCertificate(dir);
    sys = await startSystem({ gateways: 1 });
    hp = await startHaproxy({ serverPorts: sys.gatewayPorts, tls: { pemPath: cert.pemPath } });
    await hp.waitServer(sys.gatewayPorts[0]!, true, 10_000);
    const first = freshUserBase();
    await provisionUsers(sys.chatTarget, first, 4 * args.pairs, sys.secret);
    const ws = await Pairs.open('ws', hp.url, undefined, sys, first, args.pairs);
    open.push(ws.p);
    const wss = await Pairs.open('wss', hp.tlsUrl('localhost'), { ca: cert.ca }, sys, first + 2 * args.pairs, args.pairs);
    open.push(wss.p);
    console.log(`loadgen TLS cost: ${args.pairs} pairs per transport through HAProxy (TLS terminated there), ${args.messages} messages per round at ${args.rate}/s; ` +
      `load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`);
    // Warm-up: one full round of each (JIT, TLS buffers), not counted; a shorter one left the first ws round ~40 % high.
    for (const p of open) await p.round(args.messages, args.rate);
    const rounds: Round[] = [];
    for (let i = 0; i < args.rounds; i++) {
      for (const p of open) {
        const r = await p.round(args.messages, args.rate);
        rounds.push(r);
        console.log(`  round ${i + 1} ${r.transport.padEnd(3)}: ${r.messages} messages in ${r.seconds.toFixed(1)} s, CPU ${(r.cpu_us / 1000).toFixed(0)} ms = ${r.us_per_message.toFixed(1)} µs/message`);
      }
    }
    const med = (k: Kind) => median(rounds.filter((r) => r.transport === k).map((r) => r.us_per_message));
    const [plain, tls] = [med('ws'), med('wss')];
    const handshake = (wss.handshakeCpuUs - ws.handshakeCpuUs) / (2 * args.pairs);
    console.log(`\n  transport   CPU µs/message (median of ${args.rounds})`);
    console.log(`  ws          ${plain.toFixed(1)}`);
    console.log(`  wss         ${tls.toFixed(1)}`);
    console.log(`  TLS costs   ${(tls - plain).toFixed(1)} µs/message (x${(tls / plain).toFixed(2)})`);
    console.log(`  handshake   ${(handshake / 1000).toFixed(2)} ms CPU per connection (wss ${(wss.handshakeCpuUs / 2 / args.pairs / 1000).toFixed(2)}, ws ${(ws.handshakeCpuUs / 2 / args.pairs / 1000).toFixed(2)})`);
    console.log(`  load average at the end ${loadavg()[0]!.toFixed(1)}: above ~1 per core the figures carry the neighbours' noise`);
    if (args.json) {
      writeFileSync(args.json, JSON.stringify({
        bench: 'loadgen-tls-cost', args, loadavg_1m_end: loadavg()[0], rounds, us_per_message: { ws: plain, wss: tls, tls_extra: tls - plain, ratio: tls / plain },
        handshake_cpu_us_per_connection: { ws: ws.handshakeCpuUs / 2 / args.pairs, wss: wss.handshakeCpuUs / 2 / args.pairs },
      }, null, 2) + '\n');
    }
  } finally {
    for (const p of open) p.close();
    await hp?.stop();
    await sys?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err: Error) => {
  console.error(`loadgen-tls-cost: ${err.stack ?? err.message}`);
  process.exit(1);
});
