// Connections to the directory's Redis. A wrong or unreachable WA_REDIS_URL
// fails at start within `timeoutMs`, with a message that names the URL and the
// last error (bad configuration must not look like a slow start).
//
// After the first connect, ioredis reconnects on its own (a delay growing to
// reconnect_delay_ms_max). Commands never wait in an offline queue: while Redis
// is down they fail at once (the publisher keeps its sessions in memory and
// resyncs; the replica keeps serving from memory), and a command in flight
// when the connection drops fails too (maxRetriesPerRequest 0).
import Redis from 'ioredis';
import { defineScripts, type DirectoryCommands } from './scripts';
import { DIRECTORY_LIMITS, type DirectoryLimits } from './limits';

export const CONNECT_TIMEOUT_MS_DEFAULT = 3000;

export interface ConnectOptions {
  /** Give up the first connect after this (default 3 s). */
  timeoutMs?: number;
  /** CLIENT SETNAME, to find the connection in CLIENT LIST ("gw-1#k3 publisher"). */
  name?: string;
  limits?: Partial<DirectoryLimits>;
}

export type DirectoryRedis = Redis & DirectoryCommands;

/** The directory's Redis: a command connection (with the scripts) and, on demand, subscriber connections. */
export class DirectoryClient {
  constructor(
    readonly url: string,
    readonly redis: DirectoryRedis,
    readonly limits: DirectoryLimits,
    private readonly timeoutMs: number,
  ) {}

  /** A second connection for SUBSCRIBE (a subscribed connection can run nothing else). */
  subscriber(name: string): Promise<Redis> {
    return openRedis(this.url, this.limits, this.timeoutMs, name);
  }

  close(): void {
    this.redis.disconnect();
  }
}

/** Connects to the directory's Redis or rejects within `timeoutMs` with the reason. */
export async function connectDirectory(url: string, opts: ConnectOptions = {}): Promise<DirectoryClient> {
  const limits = { ...DIRECTORY_LIMITS, ...opts.limits };
  const timeoutMs = opts.timeoutMs ?? CONNECT_TIMEOUT_MS_DEFAULT;
  const redis = defineScripts(await openRedis(url, limits, timeoutMs, opts.name ?? 'directory'));
  return new DirectoryClient(url, redis, limits, timeoutMs);
}

async function openRedis(url: string, limits: DirectoryLimits, timeoutMs: number, name: string): Promise<Redis> {
  checkUrl(url);
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: limits.command_timeout_ms,
    connectTimeout: Math.min(timeoutMs, 10_000),
    connectionName: name.replace(/[^A-Za-z0-9._#-]/g, '_'),
    retryStrategy: (times) => Math.min(50 * times, limits.reconnect_delay_ms_max),
  });
  let lastError = 'no answer';
  const onError = (err: Error) => (lastError = err.message);
  redis.on('error', onError);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`directory: Redis at ${url} not reachable within ${timeoutMs} ms (${lastError})`)), timeoutMs);
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
      redis.connect().catch((err: Error) => (lastError = err.message));
    });
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  // Later errors are reconnects in progress; the owners log them through their own 'close'/'ready' handlers.
  redis.off('error', onError);
  redis.on('error', () => {});
  return redis;
}

function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`directory: WA_REDIS_URL=${url} is not a URL (expected redis://host:port)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`directory: WA_REDIS_URL=${url} must start with redis:// or rediss://`);
  }
}
