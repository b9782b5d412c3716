// Registration through the real two-step flow (POST /v1/register/code, then
// POST /v1/register with the code the chat service's file sender wrote to the
// run's data dir), over node:http so a test can pick its source address on
// 127.0.0.0/8 (per-source limits).
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import type { RunningSystem } from '../../deploy/local-system';
import { waitFor } from '../../deploy/local-system';

export interface HttpAnswer {
  status: number;
  json: Record<string, unknown> | null;
  raw: string;
}

export const REG_WAIT_MS = 5_000;

/** POST a body to the gateway from `localAddress` (127.0.0.1 unless given). */
export function postFrom(sys: RunningSystem, path: string, body: string, localAddress = '127.0.0.1', headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port: sys.gatewayPorts[0], path, method: 'POST', localAddress,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers }, timeout: REG_WAIT_MS,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString();
        let json: Record<string, unknown> | null = null;
        try {
          json = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          // plain text (413)
        }
        resolve({ status: res.statusCode ?? 0, json, raw });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`POST ${path}: no answer within ${REG_WAIT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

export function requestCode(sys: RunningSystem, phone: string, from?: string, headers?: Record<string, string>): Promise<HttpAnswer> {
  return postFrom(sys, '/v1/register/code', JSON.stringify({ phone }), from, headers);
}

export function register(sys: RunningSystem, phone: string, displayName: string, code: string, from?: string): Promise<HttpAnswer> {
  return postFrom(sys, '/v1/register', JSON.stringify({ phone, display_name: displayName, code }), from);
}

/** Codes the file sender wrote for `phone`, oldest first. */
export function codesSentTo(sys: RunningSystem, phone: string): string[] {
  let text = '';
  try {
    text = readFileSync(sys.codesFile, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { phone: string; code: string })
    .filter((e) => e.phone === phone).map((e) => e.code);
}

/** Request a code and wait until the sender has written it; returns it. */
export async function freshCode(sys: RunningSystem, phone: string, from?: string): Promise<string> {
  const before = codesSentTo(sys, phone).length;
  const r = await requestCode(sys, phone, from);
  if (r.status !== 200) throw new Error(`code request for ${phone}: ${r.status} ${r.raw}`);
  await waitFor(() => codesSentTo(sys, phone).length > before, REG_WAIT_MS, `the code for ${phone}`);
  return codesSentTo(sys, phone).at(-1)!;
}

/** The whole flow: a verified registration's user id and token. */
export async function registerVerified(sys: RunningSystem, phone: string, displayName: string, from?: string): Promise<{ userId: number; token: string }> {
  const code = await freshCode(sys, phone, from);
  const r = await register(sys, phone, displayName, code, from);
  if (r.status !== 200) throw new Error(`register ${phone}: ${r.status} ${r.raw}`);
  return { userId: r.json!.user_id as number, token: r.json!.token as string };
}
