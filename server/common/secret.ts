// The token secret shared by chat service (mints tokens at registration) and
// gateways (verify them). Never in the repository: WA_TOKEN_SECRET, or a file
// (WA_TOKEN_SECRET_FILE, default <data dir>/token-secret) that the chat service
// generates with mode 0600 on first start (settings: server/common/config.ts).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { AUTH_LIMITS, type SecretSettings } from './config';
import { newSecret } from './token';

export function loadSecret(settings: SecretSettings, createIfMissing: boolean): string {
  if (settings.secret) return check(settings.secret, 'WA_TOKEN_SECRET');
  const file = settings.file;
  if (!existsSync(file)) {
    if (!createIfMissing) throw new Error(`no token secret: set WA_TOKEN_SECRET or create ${file} (the chat service creates it on first start)`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, newSecret() + '\n', { mode: 0o600, flag: 'wx' });
  }
  return check(readFileSync(file, 'utf8').trim(), file);
}

function check(secret: string, where: string): string {
  if (secret.length < AUTH_LIMITS.secret_chars_min) throw new Error(`token secret from ${where} is shorter than ${AUTH_LIMITS.secret_chars_min} characters`);
  return secret;
}
