// The migrate command: create the ScyllaDB store's keyspace and apply pending
// migrations (server/store/scylla/migrations/), or show where a keyspace stands.
//
//   node dist/server/store/scylla/migrate.js [--contact-points h:p,...] [--keyspace wa] [--local-dc datacenter1]
//        [--rf 1] [--bucket-ms 864000000] [--status]
//
// Flags override the WA_SCYLLA_* environment (server/store/scylla/config.ts).
// Exit 0 when the keyspace is at this build's version, 1 otherwise.
import { Client } from 'cassandra-driver';
import { parseArgs } from 'node:util';
import { flagOverrides, scyllaConfigFromEnvironment } from './config';
import { LATEST_SCHEMA_VERSION } from './migrations/index';
import { migrate, schemaProblem, schemaState } from './schema';
import { describeError } from './describe-error';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'contact-points': { type: 'string' },
      keyspace: { type: 'string' },
      'local-dc': { type: 'string' },
      rf: { type: 'string' },
      'bucket-ms': { type: 'string' },
      status: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log('usage: migrate.js [--contact-points h:p,...] [--keyspace ks] [--local-dc dc] [--rf n] [--bucket-ms n] [--status]');
    return;
  }
  const config = scyllaConfigFromEnvironment(flagOverrides(values));
  const client = new Client({
    contactPoints: config.contact_points,
    localDataCenter: config.local_dc,
    socketOptions: { connectTimeout: config.connect_timeout_ms, readTimeout: 30_000 },
  });
  try {
    await withDeadline(client.connect(), config.connect_timeout_ms + 2000).catch((err) => {
      throw new Error(`cannot connect to ${config.contact_points.join(', ')}: ${describeError(err)}`);
    });
    if (values.status) {
      const state = await schemaState(client, config.keyspace);
      console.log(JSON.stringify({ keyspace: config.keyspace, build_version: LATEST_SCHEMA_VERSION, ...state }, null, 2));
      const problem = schemaProblem(state, config.keyspace);
      if (problem) {
        console.error(`migrate: ${problem}`);
        process.exitCode = 1;
      }
      return;
    }
    const r = await migrate(client, config, (line) => console.log(`migrate: ${line}`));
    for (const w of r.warnings) console.warn(`migrate: warning: ${w}`);
    console.log(
      `migrate: keyspace ${config.keyspace} at version ${r.version}` +
        `${r.applied.length ? ` (applied ${r.applied.join(', ')})` : ' (nothing to apply)'}; ` +
        `replication ${JSON.stringify(r.replication)}; bucket_ms ${r.bucketMs}`,
    );
  } finally {
    await client.shutdown().catch(() => {});
  }
}

async function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`migrate: ${describeError(err)}`);
    process.exit(1);
  });
}
