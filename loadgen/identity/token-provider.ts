// Where the simulated users' tokens come from, chosen on the command line:
//   local secret  the generator knows the target's HMAC secret and mints tokens (ids
//                 userBase + i): the systems it starts itself, or --secret / WA_TOKEN_SECRET
//   file          --token-file: users registered beforehand (./token-file.ts)
//   registration  --register: each user registers on the target (./registration.ts)
// Every provider ends in Identities (./identities.ts), which the workers use.
// `secrets` lists what no output may contain (the outputs' redaction takes them).
import type { TlsClientOptions } from '../client/transport';
import { FileCodeSource } from './code-source';
import type { Identities } from './identities';
import { registerUsers } from './registration';
import { readTokenFile } from './token-file';

export interface TokenProvider {
  readonly name: 'local-secret' | 'file' | 'registration';
  /** Identities for `users` users (the whole run: every shard sends to every user). */
  identities(users: number, userBase: number): Promise<Identities>;
  /** True when users must be created first (bulk provisioning over gRPC): minted ids are not registered. */
  readonly mintsIds: boolean;
  /** Values that must never reach an output file. */
  secrets(): string[];
}

export function localSecretProvider(secret: string): TokenProvider {
  return {
    name: 'local-secret',
    mintsIds: true,
    identities: async (_users, userBase) => ({ kind: 'minted', secret, userBase }),
    secrets: () => [secret],
  };
}

export function tokenFileProvider(path: string): TokenProvider {
  let tokens: string[] = [];
  return {
    name: 'file',
    mintsIds: false,
    identities: async (users) => {
      const list = readTokenFile(path, users);
      tokens = list.tokens;
      return { kind: 'listed', ...list };
    },
    secrets: () => tokens,
  };
}

export function registrationProvider(o: { gatewayUrl: string; codesFile: string; tls?: TlsClientOptions; log: (line: string) => void }): TokenProvider {
  let tokens: string[] = [];
  return {
    name: 'registration',
    mintsIds: false,
    identities: async (users) => {
      const list = await registerUsers({ gatewayUrl: o.gatewayUrl, users, codes: new FileCodeSource(o.codesFile), tls: o.tls, log: o.log });
      tokens = list.tokens;
      return { kind: 'listed', ...list };
    },
    secrets: () => tokens,
  };
}
