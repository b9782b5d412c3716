// Where the registration flow reads the verification code sent to a phone.
// The system's code sender is pluggable (server/chat/code-sender.ts): locally
// it appends {"phone","code","expires_at_ms"} lines to
// <data dir>/verification-codes.log, and FileCodeSource reads that file (the
// same machine, or a copy mounted from the target). A real deployment sends
// SMS; a load test against it needs a CodeSource over the SMS provider's
// test numbers or inbound-message API (for example, a virtual number pool
// whose received messages an HTTP API lists): the same codeFor() contract,
// not built here.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { IDENTITY_LIMITS } from './identity-limits';

export interface CodeSource {
  /** The newest unexpired code sent to `phone` (the registration flow uses a fresh phone per user); waits up to code_wait_ms_max. */
  codeFor(phone: string): Promise<string>;
}

export class FileCodeSource implements CodeSource {
  constructor(readonly path: string) {}

  async codeFor(phone: string): Promise<string> {
    const deadline = Date.now() + IDENTITY_LIMITS.code_wait_ms_max;
    for (;;) {
      const code = this.lookup(phone);
      if (code !== null) return code;
      if (Date.now() > deadline) {
        throw new Error(`no verification code for ${phone} appeared in ${this.path} within ${IDENTITY_LIMITS.code_wait_ms_max} ms ` +
          '(is it the target\'s WA_CODE_FILE, and does the target run WA_CODE_SENDER=file?)');
      }
      await new Promise((r) => setTimeout(r, IDENTITY_LIMITS.code_poll_ms));
    }
  }

  /** The newest valid code for `phone` in the file's tail, or null. Malformed lines are skipped (a line may be half-written). */
  private lookup(phone: string): string | null {
    const text = readTail(this.path, IDENTITY_LIMITS.code_file_tail_bytes_max);
    if (text === null) return null;
    const now = Date.now();
    const lines = text.split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      const line = lines[i]!;
      if (!line.includes(phone)) continue;
      try {
        const o = JSON.parse(line) as { phone?: unknown; code?: unknown; expires_at_ms?: unknown };
        if (o.phone === phone && typeof o.code === 'string' && /^\d{4,10}$/.test(o.code) && typeof o.expires_at_ms === 'number' && o.expires_at_ms > now) {
          return o.code;
        }
      } catch {
        // skipped
      }
    }
    return null;
  }
}

function readTail(path: string, bytesMax: number): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null; // not written yet
  }
  try {
    const size = fstatSync(fd).size;
    const n = Math.min(size, bytesMax);
    const buf = Buffer.allocUnsafe(n);
    const got = readSync(fd, buf, 0, n, size - n);
    return buf.toString('utf8', 0, got);
  } finally {
    closeSync(fd);
  }
}
