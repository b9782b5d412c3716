// Token provider "registration": every simulated user registers the way a
// real client does, on the target's gateway (docs/design/015):
//   POST /v1/register/code {phone}                      -> a code is sent to the phone
//   POST /v1/register      {phone, display_name, code}  -> {user_id, token}
// with the code read from a CodeSource (./code-source.ts). Phones are fresh
// per run (+1999 <6-digit run prefix> <5-digit index>), so each gets exactly one code.
// Registration is rate-limited per source address (registrations_per_source_per_hour_max,
// two requests per user): against a stock system it suits tens of users;
// a lab raises that limit, or registers once and reuses the result as a token file.
import * as http from 'node:http';
import * as https from 'node:https';
import { randomInt } from 'node:crypto';
import type { TlsClientOptions } from '../client/transport';
import type { CodeSource } from './code-source';
import { IDENTITY_LIMITS } from './identity-limits';
import type { TokenList } from './token-file';

export interface RegistrationOptions {
  /** A gateway WebSocket URL of the target (ws:// or wss://); the HTTP endpoints live on the same host and port. */
  gatewayUrl: string;
  users: number;
  codes: CodeSource;
  tls?: TlsClientOptions;
  log: (line: string) => void;
}

export class RegistrationError extends Error {}

/** The registration endpoint's base URL for a gateway URL: ws -> http, wss -> https, same authority. */
export function registrationBaseOf(gatewayUrl: string): string {
  const u = new URL(gatewayUrl);
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new RegistrationError(`not a ws:// or wss:// URL: ${gatewayUrl}`);
  return `${u.protocol === 'wss:' ? 'https' : 'http'}://${u.host}`;
}

export async function registerUsers(o: RegistrationOptions): Promise<TokenList> {
  const base = registrationBaseOf(o.gatewayUrl);
  // 6 random digits per run, 5 for the user index: 1999 + 11 digits is E.164's 15.
  if (o.users > 99_999) throw new RegistrationError(`--register: at most 99999 users per run, asked for ${o.users}: use a token file`);
  const prefix = `+1999${String(randomInt(1_000_000)).padStart(6, '0')}`;
  const ids = new Array<number>(o.users);
  const tokens = new Array<string>(o.users);
  let next = 0;
  const one = async (i: number): Promise<void> => {
    const phone = `${prefix}${String(i).padStart(5, '0')}`;
    await postJson(`${base}/v1/register/code`, { phone }, o.tls);
    const code = await o.codes.codeFor(phone);
    const r = await postJson(`${base}/v1/register`, { phone, display_name: `loadgen ${i}`, code }, o.tls) as { user_id?: unknown; token?: unknown };
    if (typeof r.user_id !== 'number' || !Number.isSafeInteger(r.user_id) || r.user_id <= 0 || typeof r.token !== 'string' || r.token === '') {
      throw new RegistrationError(`${base}/v1/register answered without a user_id and token`);
    }
    ids[i] = r.user_id;
    tokens[i] = r.token;
  };
  const lanes = Array.from({ length: Math.min(IDENTITY_LIMITS.registration_concurrency, o.users) }, async () => {
    while (next < o.users) await one(next++);
  });
  await Promise.all(lanes);
  o.log(`setup: registered ${o.users} users through ${base}/v1/register`);
  return { ids, tokens };
}

/** One POST with a JSON body; resolves with the JSON answer of a 200, or throws naming the status and the server's error code. */
function postJson(url: string, body: object, tls: TlsClientOptions | undefined): Promise<unknown> {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(u, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      timeout: IDENTITY_LIMITS.registration_request_timeout_ms,
      ...(secure ? { ca: tls?.ca, rejectUnauthorized: tls?.insecureSkipVerify !== true } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > IDENTITY_LIMITS.registration_response_bytes_max) {
          req.destroy(new RegistrationError(`${url}: answer larger than ${IDENTITY_LIMITS.registration_response_bytes_max} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const json = parseJson(text);
        if (res.statusCode !== 200) {
          const why = json && typeof json.error === 'string' ? `${json.error}: ${String(json.message ?? '')}` : text.slice(0, 200);
          reject(new RegistrationError(`${url} answered HTTP ${res.statusCode} (${why})`));
        } else if (json === null) reject(new RegistrationError(`${url} answered 200 without JSON`));
        else resolve(json);
      });
    });
    req.on('timeout', () => req.destroy(new RegistrationError(`${url}: no answer in ${IDENTITY_LIMITS.registration_request_timeout_ms} ms`)));
    req.on('error', (err) => reject(err instanceof RegistrationError ? err : new RegistrationError(`${url}: ${err.message}`)));
    req.end(payload);
  });
}

function parseJson(text: string): { error?: unknown; message?: unknown } | null {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null ? (v as { error?: unknown; message?: unknown }) : null;
  } catch {
    return null;
  }
}
