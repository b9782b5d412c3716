// A Redis started by the project on a free loopback port (Debian's
// redis-server; scripts/setup.sh installs it), never the machine's own
// instance. Nothing is kept on disk: routes and presence are soft state that
// gateways re-announce after a Redis restart (server/directory/).
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../lib/net';
import { installedBinary, ManagedProcess } from './managed-process';

export interface RedisOptions {
  verbose?: boolean;
  startTimeoutMs?: number;
  /** Fixed port (a restart test keeps it); a free one when omitted. */
  port?: number;
}

export class RedisServer {
  constructor(
    readonly proc: ManagedProcess,
    readonly port: number,
    private readonly dir: string,
  ) {}

  /** redis://127.0.0.1:<port> (WA_REDIS_URL). */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** kill -9 then start again on the same port, empty (nothing is persisted). */
  async restart(): Promise<void> {
    await this.proc.killAndRestart(() => redisPing(this.port), 10_000);
  }

  async stop(): Promise<void> {
    await this.proc.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function redisBinary(): string {
  return installedBinary('redis-server', 'redis-server', '/usr/bin/redis-server');
}

export async function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  const bin = redisBinary();
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'wa-redis-'));
  const proc = new ManagedProcess({
    name: 'redis',
    command: bin,
    args: [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
      '--save', '', '--appendonly', 'no', '--protected-mode', 'yes',
      // Keyspace events for expired keys (a gateway whose heartbeat key expired is gone).
      '--notify-keyspace-events', 'Ex',
    ],
    verbose: opts.verbose,
  }).start();
  const server = new RedisServer(proc, port, dir);
  try {
    await proc.waitReady(() => redisPing(port), opts.startTimeoutMs ?? 10_000);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

/** PING over a raw socket: true on +PONG. */
export function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(false);
    }, 1000);
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    sock.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}
