// Token provider "file": users registered beforehand (by any means), one per
// line, either `<user_id> <token>` or a JSON line {"user_id": N, "token": "..."};
// blank lines and lines starting with # are skipped. The file is outside
// input: its size is capped before reading, every line is checked (a user id
// is a positive safe integer, a token is 1..token_chars_max printable
// characters without spaces, no user twice), and an error names the line.
// The tokens are secrets: they go to the connections only, never to an output.
import { readFileSync, statSync } from 'node:fs';
import { AUTH_LIMITS } from '../../server/common/config';
import { IDENTITY_LIMITS } from './identity-limits';

export interface TokenList {
  ids: number[];
  tokens: string[];
}

export class TokenFileError extends Error {}

const TOKEN_RE = /^[\x21-\x7e]+$/;

/** Reads and checks a token file; `need` users are required (the run's). */
export function readTokenFile(path: string, need: number): TokenList {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    throw new TokenFileError(`--token-file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (size > IDENTITY_LIMITS.token_file_bytes_max) {
    throw new TokenFileError(`--token-file ${path}: ${size} bytes, more than ${IDENTITY_LIMITS.token_file_bytes_max} (token_file_bytes_max)`);
  }
  const list = parseTokenList(readFileSync(path, 'utf8'), `--token-file ${path}`);
  if (list.ids.length < need) {
    throw new TokenFileError(`--token-file ${path}: ${list.ids.length} users, the run needs ${need} (one per simulated user): add tokens or lower --users`);
  }
  return { ids: list.ids.slice(0, need), tokens: list.tokens.slice(0, need) };
}

export function parseTokenList(text: string, source: string): TokenList {
  const ids: number[] = [];
  const tokens: string[] = [];
  const seen = new Set<number>();
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${source}:${n + 1}`;
    const { id, token } = line.startsWith('{') ? jsonLine(line, where) : plainLine(line, where);
    if (!Number.isSafeInteger(id) || id <= 0) throw new TokenFileError(`${where}: user_id must be a positive integer`);
    if (token.length === 0 || token.length > AUTH_LIMITS.token_chars_max || !TOKEN_RE.test(token)) {
      throw new TokenFileError(`${where}: token must be 1..${AUTH_LIMITS.token_chars_max} printable characters without spaces`);
    }
    if (seen.has(id)) throw new TokenFileError(`${where}: user ${id} appears twice (one line per user)`);
    if (ids.length >= IDENTITY_LIMITS.token_file_users_max) throw new TokenFileError(`${source}: more than ${IDENTITY_LIMITS.token_file_users_max} users (token_file_users_max)`);
    seen.add(id);
    ids.push(id);
    tokens.push(token);
  }
  return { ids, tokens };
}

function plainLine(line: string, where: string): { id: number; token: string } {
  const parts = line.split(/\s+/);
  if (parts.length !== 2 || !/^\d{1,20}$/.test(parts[0]!)) throw new TokenFileError(`${where}: expected "<user_id> <token>" or a JSON line {"user_id":N,"token":"..."}`);
  return { id: Number(parts[0]), token: parts[1]! };
}

function jsonLine(line: string, where: string): { id: number; token: string } {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    throw new TokenFileError(`${where}: not valid JSON`);
  }
  const r = o as { user_id?: unknown; token?: unknown };
  if (typeof o !== 'object' || o === null || Array.isArray(o) || typeof r.user_id !== 'number' || typeof r.token !== 'string') {
    throw new TokenFileError(`${where}: a JSON line needs {"user_id": <number>, "token": "<string>"}`);
  }
  return { id: r.user_id, token: r.token };
}
