// POST /v1/register on the gateway: a JSON body {phone, display_name} is
// bounded (register_body_bytes_max), parsed and shape-checked here
// (server/common/validation.ts: whatever JSON arrives, a clear 400, never a
// crash), then passed to the chat service's Register call, which stores the
// user and mints its token.
import type { HttpResponse } from 'uWebSockets.js';
import type { Limits } from '../common/config';
import { ErrorCode, ProtocolError } from '../common/errors';
import { parseRegistration, type Registration } from '../common/validation';

interface RegisterReply {
  user_id: number;
  token: string;
  error_code: string;
  error_message: string;
}

export type RegisterCall = (r: Registration) => Promise<RegisterReply>;

export function handleRegister(res: HttpResponse, limits: Limits, register: RegisterCall): void {
  let aborted = false;
  res.onAborted(() => (aborted = true));
  const chunks: Buffer[] = [];
  let size = 0;
  res.onData((chunk, isLast) => {
    if (aborted) return;
    size += chunk.byteLength;
    if (size > limits.register_body_bytes_max) {
      aborted = true;
      res.cork(() => res.writeStatus('413 Payload Too Large').end('body too large\n', true));
      return;
    }
    chunks.push(Buffer.from(new Uint8Array(chunk)));
    if (!isLast) return;
    const parsed = parseBody(Buffer.concat(chunks), limits);
    if (parsed instanceof ProtocolError) {
      reply(res, '400 Bad Request', { error: parsed.code, message: parsed.message });
      return;
    }
    register(parsed).then(
      (r) => {
        if (aborted) return;
        if (r.error_code) reply(res, '400 Bad Request', { error: r.error_code, message: r.error_message });
        else reply(res, '200 OK', { user_id: r.user_id, token: r.token });
      },
      (err: Error) => {
        if (!aborted) reply(res, '503 Service Unavailable', { error: ErrorCode.UNAVAILABLE, message: err.message });
      },
    );
  });
}

function parseBody(body: Buffer, limits: Limits): Registration | ProtocolError {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return new ProtocolError(ErrorCode.INVALID_ARGUMENT, 'body must be JSON');
  }
  return parseRegistration(json, limits);
}

function reply(res: HttpResponse, status: string, body: object): void {
  res.cork(() => res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify(body)));
}
