// A Mosquitto MQTT broker started by the project on a free loopback port
// (Debian's mosquitto; scripts/setup.sh installs it), never the machine's own
// instance on 1883. The peer benchmark and its drivers' tests run against it
// (bench/peers.ts, loadgen/drivers/mqtt-driver.ts, docs/design/017-peers.md).
//
// The generated config: one listener on 127.0.0.1 only, anonymous clients
// allowed (loopback, test traffic, no secrets: nothing to authenticate; a real
// deployment would set a password file or certificates), persistence off (QoS 1
// state lives in memory, like a broker restarted empty), TCP_NODELAY on.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../lib/net';
import { installedBinary, ManagedProcess } from './managed-process';

/** The broker's bounds, written into its config. */
export const MOSQUITTO_SETTINGS = Object.freeze({
  /**
   * QoS 1 messages queued per subscriber beyond its in-flight window; Mosquitto drops (silently, to the
   * sender) what does not fit. Its default 1000 drops under a ramp's overload; 100k holds ~10 s of a
   * subscriber's share at the highest ramp rate, so overload shows as latency, as it does on our path.
   */
  max_queued_messages: 100_000,
  /** QoS 1 messages in flight to one subscriber before it must PUBACK (Mosquitto's default). */
  max_inflight_messages: 20,
  /** Nagle off: the broker answers each PUBACK/forward at once, as uWS does for our gateway. */
  set_tcp_nodelay: true,
  /** CONNECT -> CONNACK answered: the broker is up. */
  start_timeout_ms: 10_000,
});

export interface MosquittoOptions {
  verbose?: boolean;
  /** Fixed port (a test restarts on it); a free one when omitted. */
  port?: number;
}

export class MosquittoServer {
  constructor(
    readonly proc: ManagedProcess,
    readonly port: number,
    /** The temp dir holding the generated config (removed on stop). */
    readonly configDir: string,
  ) {}

  /** mqtt://127.0.0.1:<port> for mqtt.js. */
  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await this.proc.stop();
    rmSync(this.configDir, { recursive: true, force: true });
  }
}

export function mosquittoBinary(): string {
  return installedBinary('mosquitto', 'mosquitto', '/usr/sbin/mosquitto');
}

/** The config file's text for a listener on 127.0.0.1:port. */
export function mosquittoConfig(port: number): string {
  const s = MOSQUITTO_SETTINGS;
  return [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence false',
    `set_tcp_nodelay ${s.set_tcp_nodelay}`,
    `max_queued_messages ${s.max_queued_messages}`,
    `max_inflight_messages ${s.max_inflight_messages}`,
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    '',
  ].join('\n');
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<MosquittoServer> {
  const bin = mosquittoBinary();
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'wa-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, mosquittoConfig(port));
  const proc = new ManagedProcess({ name: 'mosquitto', command: bin, args: ['-c', conf], verbose: opts.verbose }).start();
  const server = new MosquittoServer(proc, port, dir);
  try {
    await proc.waitReady(() => mqttConnAck(port), MOSQUITTO_SETTINGS.start_timeout_ms);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

// MQTT 3.1.1 CONNECT: protocol "MQTT" level 4, clean session, keepalive 60 s, empty client id.
const CONNECT = Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00]);

/** A raw CONNECT: true when the broker answers CONNACK "accepted" (0x20 0x02 _ 0x00). */
export function mqttConnAck(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let got = Buffer.alloc(0);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 1000);
    sock.on('connect', () => sock.write(CONNECT));
    sock.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 4) done(got[0] === 0x20 && got[1] === 0x02 && got[3] === 0x00);
    });
    sock.on('error', () => done(false));
  });
}
