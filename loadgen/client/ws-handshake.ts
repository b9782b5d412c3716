// The opening handshake of the lean client: TCP connect (ws://) or TLS
// connect (wss://, node:tls: SNI from the URL's host name, the CA given or
// Node's bundled roots, or no verification when a lab asks for it), the
// HTTP/1.1 upgrade request, and a strict check of the server's 101 response
// (accept key, Upgrade/Connection headers, no extension or subprotocol we did
// not offer). Errors say what to do (no server there, an untrusted
// certificate, out of descriptors, out of source ports) rather than only the
// errno.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { createHash, randomBytes } from 'node:crypto';

/** How a wss:// connection checks the server (ignored for ws://). */
export interface TlsClientOptions {
  /** PEM text of the CA certificate(s) to trust instead of Node's bundled roots (--ca-file's content). */
  ca?: string;
  /** Skip certificate verification entirely (--insecure-skip-tls-verify): labs only, anyone on the path can read the traffic. */
  insecureSkipVerify?: boolean;
}

export interface LeanWsOptions {
  url: string;
  headers?: Record<string, string>;
  localAddress?: string;
  /** With localAddress: bind this source port instead of letting the kernel search for one (./source-ports.ts). */
  localPort?: number;
  connectTimeoutMs?: number;
  maxMessageBytes?: number;
  tls?: TlsClientOptions;
}

/** The SNI name for a URL host: the host name itself, never an IP literal (RFC 6066 3 forbids those). */
export function tlsServername(hostname: string): string | undefined {
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  return net.isIP(host) === 0 ? host : undefined;
}

/** Error raised by LeanWebSocket.connect. `status` is set when the server answered the upgrade with a non-101 HTTP status. */
export class LeanWsError extends Error {
  status?: number;
  code?: string;
  constructor(message: string, fields: { status?: number; code?: string; cause?: unknown } = {}) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = 'LeanWsError';
    if (fields.status !== undefined) this.status = fields.status;
    if (fields.code !== undefined) this.code = fields.code;
  }
}

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** An upgrade response header bigger than this is not a WebSocket server. */
const UPGRADE_RESPONSE_BYTES_MAX = 16 * 1024;

/**
 * Connects to opts.url and performs the upgrade. On success `open` is called
 * synchronously with the socket (our listeners removed) and the bytes that
 * came after the 101 response, and the promise resolves with its result: the
 * connection takes the socket over in the same callback, so no event on it
 * can find it without a listener.
 */
export function upgrade<T>(opts: LeanWsOptions, open: (socket: net.Socket, leftover: Buffer) => T): Promise<T> {
  return new Promise((resolve, reject) => {
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch {
      reject(new LeanWsError(`invalid websocket url: ${opts.url}`));
      return;
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
      reject(new LeanWsError(`unsupported scheme in ${opts.url}: LeanWebSocket speaks ws:// and wss:// only`));
      return;
    }
    const secure = url.protocol === 'wss:';
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1'); // IPv6 literals come bracketed
    const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
    const target = `${url.hostname}:${port}`;
    const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;

    const key = randomBytes(16).toString('base64');
    const expectedAccept = createHash('sha1').update(key + WS_GUID).digest('base64');
    let request: string;
    try {
      request = buildUpgradeRequest(url, key, opts.headers);
    } catch (err) {
      reject(err);
      return;
    }

    let socket: net.Socket;
    try {
      socket = secure
        ? tls.connect({
          host, port, servername: tlsServername(url.hostname),
          ca: opts.tls?.ca, rejectUnauthorized: opts.tls?.insecureSkipVerify !== true,
          ALPNProtocols: ['http/1.1'], // a WebSocket upgrade is HTTP/1.1 (RFC 8441's HTTP/2 form is another protocol)
          // tls.connect hands its options to net.connect, localAddress included; @types/node omits it.
          ...({ localAddress: opts.localAddress, localPort: opts.localPort } as object),
        })
        : net.connect({ host, port, localAddress: opts.localAddress, localPort: opts.localPort });
    } catch (err) {
      reject(describeSocketError(err as NodeJS.ErrnoException, target));
      return;
    }

    let settled = false;
    let responseChunks: Buffer[] = [];
    let responseBytes = 0;

    const removeListeners = (): void => {
      socket.off(connectEvent, onConnect).off('data', onData).off('error', onError).off('close', onClose);
    };
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      removeListeners();
      socket.on('error', () => {}); // late errors from the destroyed socket must not crash the process
      socket.destroy();
      reject(err);
    };
    const onConnect = (): void => {
      socket.setNoDelay(true); // frames are already coalesced per turn; Nagle would only add latency
      socket.write(request);
    };
    const onError = (err: NodeJS.ErrnoException): void => fail(describeSocketError(err, target, secure));
    const onClose = (): void => fail(new LeanWsError(`connection to ${target} closed before the websocket upgrade completed`, { code: 'ECONNRESET' }));
    const onData = (chunk: Buffer): void => {
      responseChunks.push(chunk);
      responseBytes += chunk.length;
      const head = responseChunks.length === 1 ? chunk : Buffer.concat(responseChunks, responseBytes);
      responseChunks = [head];
      const headerEnd = head.indexOf('\r\n\r\n');
      if (headerEnd < 0) {
        if (responseBytes > UPGRADE_RESPONSE_BYTES_MAX) fail(new LeanWsError(`upgrade response from ${target} exceeds ${UPGRADE_RESPONSE_BYTES_MAX} bytes without ending its header`));
        return;
      }
      const problem = checkUpgradeResponse(head.toString('latin1', 0, headerEnd), expectedAccept, opts.headers, target);
      if (problem !== null) {
        fail(problem);
        return;
      }
      settled = true;
      clearTimeout(timer);
      removeListeners();
      resolve(open(socket, head.subarray(headerEnd + 4)));
    };

    const timer = setTimeout(() => {
      fail(new LeanWsError(`websocket connect to ${target} timed out after ${connectTimeoutMs} ms (TCP connect${secure ? ' + TLS handshake' : ''} + upgrade)`, { code: 'ETIMEDOUT' }));
    }, connectTimeoutMs);
    // A TLS socket may carry the request only once the handshake (and the certificate check) is done.
    const connectEvent = secure ? 'secureConnect' : 'connect';
    socket.on(connectEvent, onConnect).on('data', onData).on('error', onError).on('close', onClose);
  });
}

function buildUpgradeRequest(url: URL, key: string, headers: Record<string, string> | undefined): string {
  let request =
    `GET ${url.pathname || '/'}${url.search} HTTP/1.1\r\n` +
    `Host: ${url.host}\r\n` +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Key: ${key}\r\n` +
    'Sec-WebSocket-Version: 13\r\n';
  if (headers !== undefined) {
    for (const name of Object.keys(headers)) {
      const value = headers[name];
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\0]/.test(value)) {
        throw new LeanWsError(`invalid header ${JSON.stringify(name)}`); // no header injection
      }
      request += `${name}: ${value}\r\n`;
    }
  }
  return request + '\r\n';
}

/** Returns null when the response completes a valid upgrade, else the error to reject with. */
function checkUpgradeResponse(head: string, expectedAccept: string, requestHeaders: Record<string, string> | undefined, target: string): LeanWsError | null {
  const lines = head.split('\r\n');
  const statusLine = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]);
  if (statusLine === null) return new LeanWsError(`malformed upgrade response from ${target}: ${JSON.stringify(lines[0].slice(0, 100))}`);
  const status = Number(statusLine[1]);
  if (status !== 101) {
    return new LeanWsError(`websocket upgrade to ${target} refused: HTTP ${status} ${statusLine[2] ?? ''}`.trimEnd(), { status });
  }
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(':');
    if (colon > 0) headers.set(lines[i].slice(0, colon).trim().toLowerCase(), lines[i].slice(colon + 1).trim());
  }
  const invalid = (why: string): LeanWsError => new LeanWsError(`invalid websocket upgrade response from ${target}: ${why}`, { status });
  if ((headers.get('upgrade') ?? '').toLowerCase() !== 'websocket') return invalid('Upgrade header is not "websocket"');
  if (!(headers.get('connection') ?? '').toLowerCase().split(',').some((t) => t.trim() === 'upgrade')) return invalid('Connection header lacks "upgrade"');
  if (headers.get('sec-websocket-accept') !== expectedAccept) return invalid('Sec-WebSocket-Accept does not match our key');
  if ((headers.get('sec-websocket-extensions') ?? '') !== '') return invalid('server selected an extension we did not offer');
  const protocol = headers.get('sec-websocket-protocol') ?? '';
  if (protocol !== '') {
    const offered = Object.entries(requestHeaders ?? {}).find(([name]) => name.toLowerCase() === 'sec-websocket-protocol');
    if (offered === undefined || !offered[1].split(',').some((p) => p.trim() === protocol)) return invalid(`server selected subprotocol "${protocol}" we did not offer`);
  }
  return null;
}

/** OpenSSL's verification failures as Node names them: the server's certificate is not one we trust. */
const UNTRUSTED_CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function describeSocketError(err: NodeJS.ErrnoException, target: string, secure = false): LeanWsError {
  const code = err.code;
  let message: string;
  if (secure && code !== undefined && UNTRUSTED_CERT_CODES.has(code)) {
    message = `TLS: the certificate of ${target} is not trusted (${code}: ${err.message}); pass the CA that signed it with --ca-file <pem>, ` +
      'or, in a lab only, --insecure-skip-tls-verify';
    return new LeanWsError(message, { code, cause: err });
  }
  switch (code) {
    case 'ECONNREFUSED':
      message = `connection refused by ${target}: nothing is listening there (is the server up?)`;
      break;
    case 'EMFILE':
    case 'ENFILE':
      message = `${code} connecting to ${target}: out of file descriptors; raise the open-files limit (ulimit -n / LimitNOFILE, and fs.file-max for ENFILE)`;
      break;
    case 'EADDRNOTAVAIL':
      message = `EADDRNOTAVAIL connecting to ${target}: no local address/port available; spread connections over more localAddress values or widen net.ipv4.ip_local_port_range`;
      break;
    case 'ETIMEDOUT':
      message = `TCP connect to ${target} timed out`;
      break;
    default:
      message = `websocket connect to ${target}${secure ? ' (TLS)' : ''} failed: ${err.message}`;
  }
  return new LeanWsError(message, { code, cause: err });
}
