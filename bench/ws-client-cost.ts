// Client CPU per message: the `ws` client vs LeanWebSocket, same workload.
//
// Usage: node dist/bench/ws-client-cost.js [--seconds 5] [--conns 50] [--window 32] [--payload-bytes 64]
//
// A uWS echo server runs in a child process (so its CPU is not charged to the
// client); this process opens --conns connections with each client in turn and
// keeps --window messages of --payload-bytes outstanding per connection (closed
// loop: every echo received sends the next message) for --seconds, after a
// short warm-up. Reported per client: round-trips/s, and this process's CPU
// (process.cpuUsage, user + system) divided by round-trips, which is the cost
// a load generator pays per message sent and received. Loopback only; bounded
// in time (--seconds <= 60 per client) and connections (--conns <= 2000).

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { LeanWebSocket } from '../loadgen/client/lean-ws';

interface BenchArgs {
  seconds: number;
  conns: number;
  window: number;
  payloadBytes: number;
}

function parseArgs(argv: string[]): BenchArgs {
  const args: BenchArgs = { seconds: 5, conns: 50, window: 32, payloadBytes: 64 };
  const limits: Record<keyof BenchArgs, [string, number, number]> = {
    seconds: ['--seconds', 1, 60],
    conns: ['--conns', 1, 2000],
    window: ['--window', 1, 1024],
    payloadBytes: ['--payload-bytes', 0, 1024 * 1024],
  };
  for (let i = 0; i < argv.length; i += 2) {
    const entry = (Object.entries(limits) as [keyof BenchArgs, [string, number, number]][]).find(([, [flag]]) => flag === argv[i]);
    const value = Number(argv[i + 1]);
    if (entry === undefined || !Number.isFinite(value)) throw new Error(`usage: ws-client-cost [--seconds N] [--conns N] [--window N] [--payload-bytes N]; bad argument ${argv[i]} ${argv[i + 1] ?? ''}`);
    const [key, [flag, min, max]] = entry;
    if (value < min || value > max) throw new Error(`${flag} must be within [${min}, ${max}]`);
    args[key] = value;
  }
  return args;
}

/** One benchmarked client library, reduced to what the closed loop needs. */
interface ClientConn {
  send(payload: Buffer): void;
  close(): Promise<void>;
}
interface ClientKind {
  name: string;
  open(url: string, onMessage: () => void): Promise<ClientConn>;
}

const wsClient: ClientKind = {
  name: 'ws',
  open: (url, onMessage) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      ws.once('error', reject);
      ws.once('open', () => {
        ws.off('error', reject);
        ws.on('message', onMessage);
        resolve({
          send: (payload) => ws.send(payload),
          close: () =>
            new Promise<void>((done) => {
              if (ws.readyState === WebSocket.CLOSED) return done();
              ws.once('close', () => done());
              ws.close();
            }),
        });
      });
    }),
};

const leanClient: ClientKind = {
  name: 'lean',
  open: async (url, onMessage) => {
    const ws = await LeanWebSocket.connect({ url });
    let isClosed = false;
    let onClosed: () => void = () => {};
    ws.onmessage = onMessage;
    ws.onclose = () => {
      isClosed = true;
      onClosed();
    };
    return {
      send: (payload) => ws.send(payload),
      close: () =>
        new Promise<void>((done) => {
          if (isClosed) return done();
          onClosed = done;
          ws.close();
        }),
    };
  },
};

interface RunResult {
  name: string;
  roundTrips: number;
  elapsedMs: number;
  clientCpuUs: number;
  serverCpuPct: number | null;
}

/** CPU seconds (user + system) a child has used so far, from /proc (Linux); null elsewhere. */
function childCpuSeconds(pid: number): number | null {
  const statPath = `/proc/${pid}/stat`;
  if (!existsSync(statPath)) return null;
  const fields = readFileSync(statPath, 'utf8').split(') ')[1].split(' ');
  const clockTicksPerSecond = 100; // USER_HZ: 100 on every mainstream Linux build
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond; // utime, stime
}

const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function runClient(kind: ClientKind, url: string, args: BenchArgs, serverPid: number): Promise<RunResult> {
  const payload = Buffer.alloc(args.payloadBytes, 0x61);
  let sending = false;
  let roundTrips = 0;
  const conns: ClientConn[] = [];
  for (let i = 0; i < args.conns; i++) {
    // The closure refers to its own connection; it is set right after open resolves, before any echo can arrive.
    let conn: ClientConn | null = null;
    conn = await kind.open(url, () => {
      roundTrips++;
      if (sending) conn!.send(payload);
    });
    conns.push(conn);
  }

  const measure = async (seconds: number): Promise<Omit<RunResult, 'name'>> => {
    roundTrips = 0;
    sending = true;
    const server0 = childCpuSeconds(serverPid);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (const conn of conns) for (let w = 0; w < args.window; w++) conn.send(payload);
    await sleepMs(seconds * 1000);
    const counted = roundTrips;
    const cpu = process.cpuUsage(cpu0);
    const elapsedMs = performance.now() - t0;
    const server1 = childCpuSeconds(serverPid);
    sending = false;
    await sleepMs(200); // let the window drain so the next phase starts from empty pipes
    return {
      roundTrips: counted,
      elapsedMs,
      clientCpuUs: cpu.user + cpu.system,
      serverCpuPct: server0 === null || server1 === null ? null : ((server1 - server0) * 100_000) / elapsedMs,
    };
  };

  await measure(Math.min(1, args.seconds / 2)); // warm-up: JIT, socket buffers
  const result = await measure(args.seconds);
  await Promise.all(conns.map((conn) => conn.close()));
  return { name: kind.name, ...result };
}

function startEchoServer(): Promise<{ child: ChildProcess; port: number }> {
  const serverScript = path.join(__dirname, 'fixtures', 'uws-echo-server.js');
  const child = spawn(process.execPath, [serverScript, '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('echo server did not report `listening <port>` within 10 s')), 10_000);
    child.once('exit', (code) => reject(new Error(`echo server exited early with code ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\d+)/.exec(out);
      if (match !== null) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]) });
      }
    });
  });
}

function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
  return rows.map((row) => row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]) : cell.padStart(widths[col]))).join('  ')).join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { child, port } = await startEchoServer();
  const stopServer = (): void => {
    child.kill('SIGTERM');
  };
  process.on('exit', stopServer);
  const url = `ws://127.0.0.1:${port}/bench`;
  console.log(`echo server pid ${child.pid} on ${url}; ${args.conns} conns x window ${args.window} x ${args.payloadBytes} B, ${args.seconds} s per client (node ${process.version}, ${process.arch})`);

  const results: RunResult[] = [];
  for (const kind of [wsClient, leanClient]) results.push(await runClient(kind, url, args, child.pid!));

  const rows = [['client', 'round_trips/s', 'client_cpu_us/msg', 'client_cpu_%', 'server_cpu_%']];
  for (const r of results) {
    rows.push([
      r.name,
      Math.round((r.roundTrips * 1000) / r.elapsedMs).toLocaleString('en-US'),
      (r.clientCpuUs / r.roundTrips).toFixed(2),
      ((r.clientCpuUs / 1000 / r.elapsedMs) * 100).toFixed(0),
      r.serverCpuPct === null ? 'n/a' : r.serverCpuPct.toFixed(0),
    ]);
  }
  const [ws, lean] = results;
  const throughputRatio = (lean.roundTrips / lean.elapsedMs) / (ws.roundTrips / ws.elapsedMs);
  const cpuRatio = lean.clientCpuUs / lean.roundTrips / (ws.clientCpuUs / ws.roundTrips);
  rows.push(['lean/ws', `x${throughputRatio.toFixed(2)}`, `x${cpuRatio.toFixed(2)}`, '', '']);
  console.log(formatTable(rows));
  stopServer();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
