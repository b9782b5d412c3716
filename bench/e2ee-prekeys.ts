// Prekey bundle fetches per second on a store's key directory (server/store/keys.ts):
// `users` users with one device and 100 one-time prekeys each, then `fetches`
// takes of random users' bundles, `concurrency` in flight (each take is one
// IMMEDIATE transaction on SQLite; a slice read + one LWT + a count on CQL).
// Reports fetches/s (wall), this process's CPU per fetch, and the store
// server's CPU per fetch when its pid is known (a Cassandra node we started).
import { randomBytes } from 'node:crypto';
import { processCpuSeconds } from '../lib/proc-cpu';
import type { KeyDirectory, OneTimeKey } from '../server/store/store';

export interface FetchFigures {
  engine: string;
  fetches: number;
  concurrency: number;
  fetches_per_s: number;
  client_cpu_us_per_fetch: number;
  server_cpu_us_per_fetch: number | null;
  prekeys_handed_out: number;
}

const PREKEYS_PER_USER = 100;

export async function fillDirectory(keys: KeyDirectory, firstUser: number, users: number): Promise<void> {
  for (let u = firstUser; u < firstUser + users; u++) {
    const prekeys: OneTimeKey[] = Array.from({ length: PREKEYS_PER_USER }, (_, i) => ({ id: i + 1, public_key: randomBytes(33) }));
    await keys.putKeys({
      reset: true, one_time_prekeys: prekeys,
      device: {
        user: u, device: 1, registration_id: 1, identity_key: randomBytes(33),
        signed_prekey: { id: 1, public_key: randomBytes(33), signature: randomBytes(64) },
        kyber_prekey: { id: 1, public_key: randomBytes(1569), signature: randomBytes(64) },
      },
    });
  }
}

export async function benchFetches(
  engine: string, keys: KeyDirectory, firstUser: number, users: number, fetches: number, concurrency: number, serverPid: number | null,
): Promise<FetchFigures> {
  if (fetches > users * PREKEYS_PER_USER) throw new Error('more fetches than prekeys: the figure would mix in empty takes');
  const cpu0 = process.cpuUsage();
  const server0 = serverPid ? processCpuSeconds(serverPid) : null;
  const t0 = performance.now();
  let next = 0;
  let handedOut = 0;
  const worker = async () => {
    while (next < fetches) {
      next++;
      const [b] = await keys.takeBundles(firstUser + Math.floor(Math.random() * users));
      if (b?.one_time_prekey) handedOut++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const server1 = serverPid ? processCpuSeconds(serverPid) : null;
  return {
    engine, fetches, concurrency,
    fetches_per_s: fetches / seconds,
    client_cpu_us_per_fetch: (cpu.user + cpu.system) / fetches,
    server_cpu_us_per_fetch: server0 !== null && server1 !== null ? ((server1 - server0) * 1e6) / fetches : null,
    prekeys_handed_out: handedOut,
  };
}
