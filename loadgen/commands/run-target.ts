// `loadgen run`'s target flags turned into what the engine needs: the gateway
// URLs (ws:// or wss://, any host: the product loads real deployments; only
// our tests are bound to loopback), the TLS settings for wss://, and the
// token provider for a --target system (--secret / WA_TOKEN_SECRET,
// --token-file, or --register with --verification-codes). Refusals are
// UsageErrors (exit 104) naming the flag.
import { readFileSync, statSync } from 'node:fs';
import type { TlsClientOptions } from '../client/transport';
import { registrationProvider, tokenFileProvider, type TokenProvider } from '../identity/token-provider';
import { UsageError } from './errors';

/** Target URLs in one --target list: more gateways than one generator process spreads users over usefully. */
const TARGETS_MAX = 64;
/** A CA bundle larger than this is not a PEM file (Debian's whole bundle is ~200 KiB). */
const CA_FILE_BYTES_MAX = 1024 * 1024;

export const INSECURE_WARNING = '!!! --insecure-skip-tls-verify: the certificates of wss:// targets are NOT verified: anyone on the path can ' +
  'read and change this traffic, tokens included. For labs only. !!!';

export interface RunTarget {
  targetUrls?: string[];
  tokens?: TokenProvider;
  tls?: TlsClientOptions;
  warnings: string[];
}

type TargetFlags = Record<string, string | boolean | undefined>;

export function targetUrlsOf(list: string): string[] {
  const urls = list.split(',').map((u) => u.trim()).filter(Boolean);
  if (urls.length === 0 || urls.length > TARGETS_MAX) throw new UsageError(`--target needs 1..${TARGETS_MAX} ws:// or wss:// URLs`);
  for (const u of urls) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new UsageError(`--target ${JSON.stringify(u.slice(0, 100))} is not a URL (e.g. wss://gw.example.com/v1/ws)`);
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new UsageError(`--target ${u}: ws:// or wss:// only`);
    if (url.username || url.password) throw new UsageError(`--target ${u}: no credentials in the URL (tokens come from a token provider)`);
  }
  return urls;
}

function tlsOf(v: TargetFlags, urls: string[] | undefined, warnings: string[]): TlsClientOptions | undefined {
  const caFile = typeof v['ca-file'] === 'string' ? v['ca-file'] : undefined;
  const insecure = v['insecure-skip-tls-verify'] === true;
  if (!caFile && !insecure) return undefined;
  if (!urls?.some((u) => u.startsWith('wss:'))) throw new UsageError('--ca-file and --insecure-skip-tls-verify apply to wss:// targets only');
  if (caFile && insecure) throw new UsageError('--ca-file and --insecure-skip-tls-verify contradict each other: pick one');
  if (insecure) {
    warnings.push(INSECURE_WARNING);
    return { insecureSkipVerify: true };
  }
  let ca: string;
  try {
    if (statSync(caFile!).size > CA_FILE_BYTES_MAX) throw new UsageError(`--ca-file ${caFile}: larger than ${CA_FILE_BYTES_MAX} bytes`);
    ca = readFileSync(caFile!, 'utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`--ca-file ${caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`--ca-file ${caFile}: no PEM certificate in it`);
  return { ca };
}

export function runTargetOf(v: TargetFlags, driver: 'system' | 'bare', o: { envSecret?: string; sharded: boolean; log: (line: string) => void }): RunTarget {
  const warnings: string[] = [];
  const targetUrls = typeof v.target === 'string' ? targetUrlsOf(v.target) : undefined;
  const tls = tlsOf(v, targetUrls, warnings);
  const tokenFile = typeof v['token-file'] === 'string' ? v['token-file'] : undefined;
  const register = v.register === true;
  const codes = typeof v['verification-codes'] === 'string' ? v['verification-codes'] : undefined;
  const chosen = [v.secret !== undefined && '--secret', tokenFile && '--token-file', register && '--register'].filter(Boolean);
  if (chosen.length > 1) throw new UsageError(`${chosen.join(' and ')}: one token provider at a time`);
  if (codes && !register) throw new UsageError('--verification-codes goes with --register');
  if ((tokenFile || register) && !targetUrls) {
    throw new UsageError(`${tokenFile ? '--token-file' : '--register'} is for --target systems; the system loadgen starts mints its own tokens`);
  }
  if ((tokenFile || register) && driver !== 'system') throw new UsageError('token providers are for --driver system');
  if (targetUrls && driver === 'system' && chosen.length === 0 && !o.envSecret) {
    throw new UsageError('--target needs a token provider for its users: --secret (or WA_TOKEN_SECRET), --token-file, or --register');
  }
  let tokens: TokenProvider | undefined;
  if (tokenFile) tokens = tokenFileProvider(tokenFile);
  if (register) {
    if (!codes) throw new UsageError('--register needs --verification-codes <file>: where the target\'s codes arrive');
    if (o.sharded) throw new UsageError('--register registers one process\'s users; with --shard or --procs, register once into a --token-file and share it');
    tokens = registrationProvider({ gatewayUrl: targetUrls![0]!, codesFile: codes, tls, log: o.log });
  }
  return { targetUrls, tokens, tls, warnings };
}
