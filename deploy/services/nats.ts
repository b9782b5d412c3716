// A nats-server with JetStream started by the project on a free loopback port
// (Debian's nats-server; scripts/setup.sh installs it), never the machine's own
// instance on 4222. JetStream keeps its file storage in a temp dir removed on
// stop. The peer benchmark and its drivers' tests run against it
// (bench/peers.ts, loadgen/drivers/jetstream-driver.ts, docs/design/017-peers.md).
//
// No auth: loopback only, test traffic, no secrets (a real deployment would use
// nkeys or accounts). No monitoring port, no cluster.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../lib/net';
import { installedBinary, ManagedProcess } from './managed-process';

export const NATS_SETTINGS = Object.freeze({
  /** "Server is ready" printed: JetStream has opened its store by then. */
  start_timeout_ms: 15_000,
});

export interface NatsOptions {
  verbose?: boolean;
  port?: number;
}

export class NatsServer {
  constructor(
    readonly proc: ManagedProcess,
    readonly port: number,
    /** JetStream's store directory (file storage), inside a temp dir. */
    readonly storeDir: string,
    private readonly dir: string,
  ) {}

  /** nats://127.0.0.1:<port> for nats.js. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await this.proc.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function natsBinary(): string {
  return installedBinary('nats-server', 'nats-server', '/usr/sbin/nats-server');
}

export async function startNats(opts: NatsOptions = {}): Promise<NatsServer> {
  const bin = natsBinary();
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'wa-nats-'));
  const storeDir = join(dir, 'jetstream');
  const proc = new ManagedProcess({
    name: 'nats-server',
    command: bin,
    args: ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', String(port), '-n', 'wa-peers'],
    verbose: opts.verbose,
  }).start();
  const server = new NatsServer(proc, port, storeDir, dir);
  try {
    await proc.waitForLine(/Server is ready/, NATS_SETTINGS.start_timeout_ms);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}
