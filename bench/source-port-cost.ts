// What a TCP connect costs the connecting process as its open connections
// grow, by how the source port is chosen: by the kernel at connect (no bind),
// by the kernel at bind(address, 0) (what every `--procs` child did: it binds
// its own 127.0.1.x), or by us, bind(address, port) (loadgen/client/source-ports.ts).
//
// Usage: node dist/bench/source-port-cost.js [--connections 18000] [--address 127.0.1.1]
//
// A plain TCP listener runs in a child process (its descriptors count apart);
// this process opens --connections sockets to it, 64 in flight, in batches of
// 1,000, and prints per batch the process CPU per connect (user + system) and
// the system part. The modes run one after the other, each closing its sockets
// before the next. Bounded: --connections <= 19,000 (the 20,000 descriptors a
// process may hold here), loopback only, every mode ends or fails within 120 s.
import { fork, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import * as net from 'node:net';
import { argv } from 'node:process';
import { SourcePorts } from '../loadgen/client/source-ports';

const BATCH = 1_000;
const IN_FLIGHT = 64;
const CONNECTIONS_MAX = 19_000;
const MODE_TIMEOUT_MS = 120_000;

type Mode = 'kernel-at-connect' | 'kernel-at-bind' | 'explicit-port';

function flag(name: string, dflt: string): string {
  const i = argv.indexOf(`--${name}`);
  return i > 0 && argv[i + 1] ? argv[i + 1]! : dflt;
}

function listener(): Promise<{ child: ChildProcess; port: number }> {
  if (process.env.SOURCE_PORT_BENCH_LISTENER === '1') {
    const held: net.Socket[] = [];
    const srv = net.createServer((s) => held.push(s.on('error', () => {})));
    srv.listen(0, '127.0.0.1', () => process.send!((srv.address() as net.AddressInfo).port));
    setTimeout(() => process.exit(0), MODE_TIMEOUT_MS).unref();
    process.on('disconnect', () => process.exit(0));
    return new Promise(() => {});
  }
  const child = fork(__filename, [], { env: { ...process.env, SOURCE_PORT_BENCH_LISTENER: '1' } });
  return new Promise((resolve) => child.once('message', (port) => resolve({ child, port: port as number })));
}

async function runMode(mode: Mode, total: number, address: string): Promise<string[]> {
  const { child, port } = await listener();
  const ports = new SourcePorts(0);
  const socks: net.Socket[] = [];
  const lines: string[] = [];
  const connectOne = (): Promise<void> => new Promise((resolve, reject) => {
    const opts: net.NetConnectOpts = { port, host: '127.0.0.1' };
    if (mode !== 'kernel-at-connect') opts.localAddress = address;
    if (mode === 'explicit-port') opts.localPort = ports.take(address);
    const s = net.connect(opts, () => resolve(void socks.push(s)));
    s.once('error', reject);
  });
  try {
    for (let open = 0; open < total; open += BATCH) {
      const cpu0 = process.cpuUsage();
      let next = 0;
      const lane = async () => {
        while (next++ < BATCH) await connectOne();
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
      const cpu = process.cpuUsage(cpu0);
      lines.push(`${mode.padEnd(18)} ${String(open + BATCH).padStart(6)} open: ${Math.round((cpu.user + cpu.system) / BATCH)} µs CPU/connect ` +
        `(system ${Math.round(cpu.system / BATCH)})`);
    }
  } finally {
    for (const s of socks) s.destroy();
    child.kill();
  }
  return lines;
}

async function main(): Promise<void> {
  if (process.env.SOURCE_PORT_BENCH_LISTENER === '1') return void (await listener());
  const total = Math.min(CONNECTIONS_MAX, Number(flag('connections', '18000')));
  const address = flag('address', '127.0.1.1');
  console.log(`# load average ${loadavg()[0]!.toFixed(1)}; ${total} connections per mode from ${address} to one loopback listener`);
  for (const mode of ['kernel-at-connect', 'kernel-at-bind', 'explicit-port'] as const) {
    const timer = setTimeout(() => {
      console.error(`${mode}: not done in ${MODE_TIMEOUT_MS} ms`);
      process.exit(1);
    }, MODE_TIMEOUT_MS);
    for (const line of await runMode(mode, total, address)) console.log(line);
    clearTimeout(timer);
  }
  console.log(`# load average ${loadavg()[0]!.toFixed(1)} at the end`);
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
