// How a registration code reaches the phone. Pluggable: a deployment plugs an
// SMS gateway in behind CodeSender; this build has two senders:
//   file  (the local default): appends `{"phone","code","expires_at_ms"}` lines to a file
//         (mode 0600) and says so loudly at start: NOT FOR PRODUCTION, anyone who can read
//         the file can register any number;
//   none: codes are dropped (nobody can register; for a deployment that must not leak codes
//         to disk before it has a real sender).
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CodeSenderSettings } from '../common/config';

export interface CodeSender {
  /** One line for the start-up log: where codes go. */
  readonly describe: string;
  send(phone: string, code: string, expiresAtMs: number): void;
}

export class FileCodeSender implements CodeSender {
  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
  }

  get describe(): string {
    return `!!! VERIFICATION CODES ARE WRITTEN TO ${this.file} (WA_CODE_SENDER=file, the local default): for tests and local runs only, never production !!!`;
  }

  send(phone: string, code: string, expiresAtMs: number): void {
    appendFileSync(this.file, `${JSON.stringify({ phone, code, expires_at_ms: expiresAtMs })}\n`, { mode: 0o600 });
  }
}

export class NoCodeSender implements CodeSender {
  readonly describe = 'verification codes are dropped (WA_CODE_SENDER=none): nobody can register until a real sender is configured';
  send(): void {}
}

export function codeSenderOf(settings: CodeSenderSettings): CodeSender {
  return settings.kind === 'file' ? new FileCodeSender(settings.file) : new NoCodeSender();
}
