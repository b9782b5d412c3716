// End-to-end encryption's costs (issue 18, docs/design/021-e2ee.md), printed:
//   1. libsignal encrypt + decrypt µs per message (process CPU) and the ciphertext
//      overhead in bytes per message, for a few plaintext sizes (bench/e2ee-crypto.ts);
//   2. prekey bundle fetches per second on the embedded store, and with --cassandra on a
//      Cassandra 5 node (its own, started and deleted here, unless --contact-point) (bench/e2ee-prekeys.ts).
//
//   node dist/bench/e2ee.js [--messages 2000] [--rounds 3] [--sizes 32,100,200,1000]
//        [--fetches 4000] [--cassandra] [--contact-point 127.0.0.1:9042] [--cassandra-fetches 2000] [--json out.json]
// --json writes the figures the capacity model reads (tools/capacity-model/bench-run.ts, kind "e2ee"): the
// overhead at the seed's 100-byte message (when 100 is among --sizes) and the best Cassandra take rate.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalNode, stopLocalNode, wipeLocalNode, type LocalNode } from '../deploy/cassandra-node';
import { PROVISIONED_USER_ID_MIN } from '../server/common/ids';
import { SqliteStore } from '../server/store/embedded/sqlite-store';
import { scyllaConfig } from '../server/store/scylla/config';
import { openScyllaStore } from '../server/store/scylla/scylla-store';
import type { E2eeFigures } from '../tools/capacity-model/bench-run';
import { writeBenchJson } from './bench-json';
import { benchCrypto, type CryptoFigures } from './e2ee-crypto';
import { benchFetches, fillDirectory, type FetchFigures } from './e2ee-prekeys';

const USERS = 100;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '2000' },
      rounds: { type: 'string', default: '3' },
      sizes: { type: 'string', default: '32,100,200,1000' },
      fetches: { type: 'string', default: '4000' },
      cassandra: { type: 'boolean', default: false },
      'contact-point': { type: 'string' },
      'cassandra-fetches': { type: 'string', default: '2000' },
      json: { type: 'string' },
    },
  });
  console.log(`e2ee bench: node ${process.version}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const crypto: CryptoFigures[] = [];
  for (const size of values.sizes!.split(',').map(Number)) {
    crypto.push(await benchCrypto(size, Number(values.messages), Number(values.rounds)));
  }
  console.log(`\nlibsignal per message (process CPU, median of ${values.rounds} rounds of ${values.messages} messages; 1 recipient device)`);
  console.log('  plaintext B  encrypt us  decrypt us  enc+dec us  enc+dec alternating us  overhead first B  overhead steady B  session setup us');
  for (const c of crypto) {
    console.log(`  ${pad(c.plaintext_bytes, 11)}  ${pad(c.encrypt_us.toFixed(1), 10)}  ${pad(c.decrypt_us.toFixed(1), 10)}  ${pad(c.encrypt_decrypt_us.toFixed(1), 10)}` +
      `  ${pad(c.encrypt_decrypt_alternating_us.toFixed(1), 22)}  ${pad(c.overhead_first_bytes, 16)}  ${pad(c.overhead_steady_bytes, 17)}  ${pad(c.session_setup_us.toFixed(0), 16)}`);
  }

  const fetches: FetchFigures[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'wa-bench-e2ee-'));
  try {
    const store = new SqliteStore({ path: join(dir, 'store.db') });
    const first = PROVISIONED_USER_ID_MIN;
    await fillDirectory(store.keys, first, USERS);
    fetches.push(await benchFetches('sqlite', store.keys, first, USERS, Number(values.fetches), 1, null));
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (values.cassandra) fetches.push(...(await cassandraFetches(values['contact-point'], Number(values['cassandra-fetches']))));
  console.log(`\nprekey bundle fetches (${USERS} users x 1 device x 100 one-time prekeys; random targets)`);
  console.log('  engine     in flight  fetches  fetches/s  client CPU us/fetch  server CPU us/fetch');
  for (const f of fetches) {
    console.log(`  ${f.engine.padEnd(9)}  ${pad(f.concurrency, 9)}  ${pad(f.fetches, 7)}  ${pad(f.fetches_per_s.toFixed(0), 9)}  ${pad(f.client_cpu_us_per_fetch.toFixed(0), 19)}` +
      `  ${pad(f.server_cpu_us_per_fetch === null ? '-' : f.server_cpu_us_per_fetch.toFixed(0), 19)}`);
    if (f.prekeys_handed_out !== f.fetches) console.log(`  warning: ${f.fetches - f.prekeys_handed_out} fetches came back without a one-time prekey`);
  }
  if (values.json) writeBenchJson(values.json, 'e2ee', benchFigures(crypto, fetches));
}

/** The capacity model's figures: the row at the seed's 100-byte message (else the first), the best CQL take rate. */
function benchFigures(crypto: CryptoFigures[], fetches: FetchFigures[]): E2eeFigures {
  const c = crypto.find((x) => x.plaintext_bytes === 100) ?? crypto[0]!;
  const cql = fetches.filter((f) => f.engine === 'cassandra').sort((a, b) => b.fetches_per_s - a.fetches_per_s)[0];
  return {
    plaintext_bytes: c.plaintext_bytes, overhead_steady_bytes: c.overhead_steady_bytes, overhead_first_bytes: c.overhead_first_bytes,
    encrypt_decrypt_us: c.encrypt_decrypt_us,
    ...(cql ? { store_prekey_takes_per_s: cql.fetches_per_s, store_engine: 'cassandra', store_cpu_us_per_take: cql.server_cpu_us_per_fetch } : {}),
  };
}

async function cassandraFetches(contactPoint: string | undefined, n: number): Promise<FetchFigures[]> {
  let node: LocalNode | null = null;
  try {
    if (!contactPoint) {
      node = await startLocalNode({ name: `bench-e2ee-${Date.now().toString(36)}`, wipeIfStartFails: true });
      contactPoint = node.contactPoint;
      console.log(`\nCassandra 5 node on ${contactPoint} started in ${(node.startMs / 1000).toFixed(1)} s`);
    }
    const pid = node ? Number(readFileSync(join(node.dataDir, 'cassandra.pid'), 'utf8')) : null;
    const store = await openScyllaStore(scyllaConfig({}, { contact_points: [contactPoint], keyspace: `wa_bench_e2ee_${Date.now().toString(36)}`, migrate: true }));
    try {
      const out: FetchFigures[] = [];
      for (const concurrency of [1, 32]) {
        const first = PROVISIONED_USER_ID_MIN + concurrency * 10_000;
        await fillDirectory(store.keys, first, USERS);
        out.push(await benchFetches('cassandra', store.keys, first, USERS, n, concurrency, pid));
      }
      return out;
    } finally {
      await store.close();
    }
  } finally {
    if (node) {
      await stopLocalNode(node);
      await wipeLocalNode({ dataDir: node.dataDir });
    }
  }
}

function pad(v: string | number, width: number): string {
  return String(v).padStart(width);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
