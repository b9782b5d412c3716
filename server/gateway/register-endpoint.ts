// Registration on the gateway, two steps (server/chat/verification.ts decides):
//   POST /v1/register/code  {phone}                       -> 200 {expires_in_seconds}: a code is sent to the phone
//   POST /v1/register       {phone, display_name, code}   -> 200 {user_id, token}
// Each JSON body is bounded (register_body_bytes_max), parsed and shape-checked
// here (server/common/validation.ts: whatever JSON arrives, a clear 4xx, never a
// crash), then passed with the client's source address to the chat service,
// which rate-limits per phone and per source. Refusals carry a stable code:
// 400 INVALID_ARGUMENT / MISSING_FIELD, 401 BAD_CODE / CODE_EXPIRED,
// 429 TOO_MANY_ATTEMPTS / REGISTRATION_RATE_LIMITED, 503 UNAVAILABLE.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { Limits } from '../common/config';
import { ErrorCode, ProtocolError } from '../common/errors';
import { parseCodeRequest, parseRegistration, type Registration } from '../common/validation';

interface RegisterReply {
  user_id: number;
  token: string;
  error_code: string;
  error_message: string;
}

interface CodeReply {
  expires_in_seconds: number;
  error_code: string;
  error_message: string;
}

export interface EndpointContext {
  limits: Limits;
  /** Peers whose X-Forwarded-For is believed (WA_TRUSTED_PROXIES): the load balancers. */
  trustedProxies: ReadonlySet<string>;
}

export type RegisterCall = (r: Registration & { source: string }) => Promise<RegisterReply>;
export type CodeCall = (r: { phone: string; source: string }) => Promise<CodeReply>;

export function handleCodeRequest(res: HttpResponse, req: HttpRequest, ctx: EndpointContext, requestCode: CodeCall): void {
  const limits = ctx.limits;
  const source = sourceAddress(res, req, ctx.trustedProxies);
  readJson(res, limits, (json, state) => {
    const parsed = parseCodeRequest(json);
    if (parsed instanceof ProtocolError) return refuse(res, parsed.code, parsed.message);
    requestCode({ phone: parsed.phone, source }).then(
      (r) => {
        if (state.aborted) return;
        if (r.error_code) refuse(res, r.error_code, r.error_message);
        else reply(res, '200 OK', { expires_in_seconds: r.expires_in_seconds });
      },
      (err: Error) => unavailable(res, state, err),
    );
  });
}

export function handleRegister(res: HttpResponse, req: HttpRequest, ctx: EndpointContext, register: RegisterCall): void {
  const limits = ctx.limits;
  const source = sourceAddress(res, req, ctx.trustedProxies);
  readJson(res, limits, (json, state) => {
    const parsed = parseRegistration(json, limits);
    if (parsed instanceof ProtocolError) return refuse(res, parsed.code, parsed.message);
    register({ ...parsed, source }).then(
      (r) => {
        if (state.aborted) return;
        if (r.error_code) refuse(res, r.error_code, r.error_message);
        else reply(res, '200 OK', { user_id: r.user_id, token: r.token });
      },
      (err: Error) => unavailable(res, state, err),
    );
  });
}

/** The HTTP status each refusal is answered with. */
export function statusOf(code: string): string {
  switch (code) {
    case ErrorCode.BAD_CODE:
    case ErrorCode.CODE_EXPIRED:
      return '401 Unauthorized';
    case ErrorCode.TOO_MANY_ATTEMPTS:
    case ErrorCode.REGISTRATION_RATE_LIMITED:
      return '429 Too Many Requests';
    default:
      return '400 Bad Request';
  }
}

interface BodyState {
  aborted: boolean;
}

/** Gathers a bounded body (413 past register_body_bytes_max), parses it as JSON (400 otherwise) and hands it on. */
function readJson(res: HttpResponse, limits: Limits, then: (json: unknown, state: BodyState) => void): void {
  const state: BodyState = { aborted: false };
  res.onAborted(() => (state.aborted = true));
  const chunks: Buffer[] = [];
  let size = 0;
  res.onData((chunk, isLast) => {
    if (state.aborted) return;
    size += chunk.byteLength;
    if (size > limits.register_body_bytes_max) {
      state.aborted = true;
      res.cork(() => res.writeStatus('413 Payload Too Large').end('body too large\n', true));
      return;
    }
    chunks.push(Buffer.from(new Uint8Array(chunk)));
    if (!isLast) return;
    let json: unknown;
    try {
      json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      refuse(res, ErrorCode.INVALID_ARGUMENT, 'body must be JSON');
      return;
    }
    then(json, state);
  });
}

/**
 * The client's address, read before any await (uWS's request objects are valid only now): the TCP peer, or,
 * when the peer is a trusted proxy, the last X-Forwarded-For entry (the one that proxy appended; earlier
 * entries come from the client and may be forged). Behind an untrusted balancer the per-source limit counts
 * the balancer (docs/design/015-abuse-and-authorization.md).
 */
export function sourceAddress(res: HttpResponse, req: HttpRequest, trustedProxies: ReadonlySet<string>): string {
  const peer = Buffer.from(res.getRemoteAddressAsText()).toString();
  if (!trustedProxies.has(peer) && !trustedProxies.has(peer.replace(/^::ffff:/, ''))) return peer;
  const forwarded = req.getHeader('x-forwarded-for');
  const last = forwarded.slice(forwarded.lastIndexOf(',') + 1).trim();
  return last || peer;
}

function refuse(res: HttpResponse, code: string, message: string): void {
  reply(res, statusOf(code), { error: code, message });
}

function unavailable(res: HttpResponse, state: BodyState, err: Error): void {
  if (!state.aborted) reply(res, '503 Service Unavailable', { error: ErrorCode.UNAVAILABLE, message: err.message });
}

function reply(res: HttpResponse, status: string, body: object): void {
  res.cork(() => res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify(body)));
}
