// The WebSocket a chat client rides on: our lean RFC 6455 client (default:
// cheapest CPU per message, see bench/ws-client-cost.ts) or the `ws` package
// (the reference implementation, for comparison and as a cross-check).
import WebSocket from 'ws';
import { LeanWebSocket } from './lean-ws';
import { tlsServername, type LeanWsOptions, type TlsClientOptions } from './ws-handshake';
import { SOURCE_PORT_ATTEMPTS_MAX, sourcePortTaken, sourcePorts } from './source-ports';

export type { TlsClientOptions } from './ws-handshake';

export type TransportKind = 'lean' | 'ws';

export interface Transport {
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onmessage: (data: Buffer) => void;
  onclose: (code: number, reason: string) => void;
  readonly bufferedAmount: number;
  /** Stop / restart reading (simulates a slow receiver). */
  pause(): void;
  resume(): void;
}

export interface ConnectOptions {
  url: string;
  token: string;
  kind?: TransportKind;
  localAddress?: string;
  connectTimeoutMs?: number;
  /** wss:// only: the CA to trust, or no verification (labs). */
  tls?: TlsClientOptions;
}

/** Error with the HTTP status of a refused upgrade (401 for a bad token). */
export class UpgradeRefused extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function connectTransport(opts: ConnectOptions): Promise<Transport> {
  const headers = { authorization: `Bearer ${opts.token}` };
  if ((opts.kind ?? 'lean') === 'lean') {
    try {
      const ws = await connectLean({
        url: opts.url, headers, localAddress: opts.localAddress, connectTimeoutMs: opts.connectTimeoutMs ?? 10_000, tls: opts.tls,
      });
      return ws as unknown as Transport;
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status) throw new UpgradeRefused(status, (err as Error).message);
      throw err;
    }
  }
  return new Promise((resolve, reject) => {
    const secure = opts.url.startsWith('wss:');
    const ws = new WebSocket(opts.url, {
      headers, localAddress: opts.localAddress, perMessageDeflate: false,
      ...(secure ? { ca: opts.tls?.ca, rejectUnauthorized: opts.tls?.insecureSkipVerify !== true, servername: tlsServername(new URL(opts.url).hostname) } : {}),
    });
    ws.binaryType = 'nodebuffer';
    const t: Transport = {
      send: (data) => ws.send(data),
      close: (code, reason) => ws.close(code, reason),
      onmessage: () => {},
      onclose: () => {},
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
      pause: () => {
        paused = true;
        ws.pause();
      },
      resume: () => {
        paused = false;
        ws.resume();
      },
    };
    let paused = false;
    ws.on('message', (data) => t.onmessage(data as Buffer));
    ws.on('close', (code, reason) => t.onclose(code, reason.toString()));
    ws.once('open', () => {
      // Frames can come in the same read as the 101 response (the gateway speaks first). The
      // caller installs its handlers in the continuation of `await connect()`, a microtask chain
      // that runs before the next I/O turn: keep the socket paused until then (as lean-ws does).
      ws.pause();
      resolve(t);
      setImmediate(() => paused || ws.resume());
    });
    ws.once('unexpected-response', (_req, res) => {
      reject(new UpgradeRefused(res.statusCode ?? 0, `upgrade refused: HTTP ${res.statusCode}`));
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}

/** The lean client; bound to a local address, on a source port of our choosing (./source-ports.ts), the next one while taken. */
async function connectLean(o: LeanWsOptions): Promise<LeanWebSocket> {
  if (o.localAddress === undefined) return LeanWebSocket.connect(o);
  for (let attempt = 1; ; attempt++) {
    try {
      return await LeanWebSocket.connect({ ...o, localPort: sourcePorts.take(o.localAddress) });
    } catch (err) {
      if (!sourcePortTaken(err) || attempt >= SOURCE_PORT_ATTEMPTS_MAX) throw err;
    }
  }
}
