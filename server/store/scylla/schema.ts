// The ScyllaDB store's schema: create the keyspace, apply migrations in order,
// and tell a starting store whether the keyspace is ready for this build.
//
// <keyspace>.schema_migrations records every applied migration (version, name,
// checksum of its statements, when). The keyspace itself is the bootstrap step
// (it holds that table): NetworkTopologyStrategy with `replication_factor`
// replicas in the local data centre. An existing keyspace's replication is
// never altered here (that needs a repair afterwards: an operator's job); a
// mismatch is reported.
//
// Run migrations from ONE process at a time (the migrate command, or the one
// chat service started with WA_SCYLLA_MIGRATE=1): concurrent CREATE TABLE on
// Cassandra/ScyllaDB from several clients can race into schema disagreement.
import { createHash } from 'node:crypto';
import { Client, types } from 'cassandra-driver';
import { BUCKET_MS_DEFAULT, type ScyllaConfig } from './config';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, type Migration } from './migrations/index';

export interface SchemaState {
  keyspaceExists: boolean;
  /** Highest applied migration (0: none). */
  version: number;
  applied: { version: number; name: string; checksum: string }[];
  /** Replication of the keyspace as the cluster reports it. */
  replication: Record<string, string> | null;
  /** The bucket width recorded in store_meta (null before migration 1). */
  bucketMs: number | null;
}

export function migrationChecksum(m: Migration): string {
  return createHash('sha256').update(m.statements.map((s) => s.replace(/\s+/g, ' ').trim()).join(';\n')).digest('hex').slice(0, 16);
}

export async function schemaState(client: Client, keyspace: string): Promise<SchemaState> {
  const ks = await client.execute('SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?', [keyspace], { prepare: true });
  if (ks.rowLength === 0) return { keyspaceExists: false, version: 0, applied: [], replication: null, bucketMs: null };
  const replication = ks.first().replication as Record<string, string>;
  const tables = await client.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [keyspace], { prepare: true });
  const names = new Set(tables.rows.map((r) => r.table_name as string));
  const applied: SchemaState['applied'] = [];
  if (names.has('schema_migrations')) {
    const rs = await client.execute(`SELECT version, name, checksum FROM ${keyspace}.schema_migrations`, [], { consistency: types.consistencies.localQuorum });
    for (const r of rs.rows) applied.push({ version: r.version as number, name: r.name as string, checksum: r.checksum as string });
    applied.sort((a, b) => a.version - b.version);
  }
  let bucketMs: number | null = null;
  if (names.has('store_meta')) {
    const rs = await client.execute(`SELECT value FROM ${keyspace}.store_meta WHERE key = 'bucket_ms'`, [], { consistency: types.consistencies.localQuorum });
    if (rs.rowLength > 0) bucketMs = Number(rs.first().value);
  }
  return { keyspaceExists: true, version: applied.length ? applied[applied.length - 1]!.version : 0, applied, replication, bucketMs };
}

/**
 * Why a keyspace cannot serve this build, or null when it can: missing, behind,
 * ahead of this build, or a shipped migration edited after it was applied.
 */
export function schemaProblem(state: SchemaState, keyspace: string): string | null {
  const fix = `run \`node dist/server/store/scylla/migrate.js --keyspace ${keyspace}\` (or start with WA_SCYLLA_MIGRATE=1)`;
  if (!state.keyspaceExists) return `keyspace "${keyspace}" does not exist: ${fix}`;
  if (state.version < LATEST_SCHEMA_VERSION) {
    return `keyspace "${keyspace}" is at schema version ${state.version}, this build needs ${LATEST_SCHEMA_VERSION}: ${fix}`;
  }
  if (state.version > LATEST_SCHEMA_VERSION) {
    return `keyspace "${keyspace}" is at schema version ${state.version}, newer than this build knows (${LATEST_SCHEMA_VERSION}): upgrade the build`;
  }
  for (const a of state.applied) {
    const m = MIGRATIONS.find((x) => x.version === a.version);
    if (m && a.checksum !== migrationChecksum(m)) {
      return `keyspace "${keyspace}": migration ${a.version} (${a.name}) was edited after it was applied (checksum ${a.checksum} != ${migrationChecksum(m)}); add a new migration instead`;
    }
  }
  if (state.bucketMs === null) return `keyspace "${keyspace}" has no bucket_ms in store_meta: ${fix}`;
  return null;
}

export interface MigrateResult {
  created: boolean;
  applied: number[];
  version: number;
  bucketMs: number;
  replication: Record<string, string>;
  warnings: string[];
}

/**
 * Create the keyspace (if missing) and apply every migration it has not seen,
 * in order. Idempotent: a second run applies nothing.
 */
export async function migrate(client: Client, config: ScyllaConfig, log: (line: string) => void = () => {}): Promise<MigrateResult> {
  const ks = config.keyspace;
  const warnings: string[] = [];
  const before = await schemaState(client, ks);
  if (!before.keyspaceExists) {
    log(`creating keyspace ${ks} (NetworkTopologyStrategy, ${config.local_dc}: ${config.replication_factor})`);
    await client.execute(
      `CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = {'class': 'NetworkTopologyStrategy', '${config.local_dc}': ${config.replication_factor}}`,
    );
  } else {
    const rf = before.replication?.[config.local_dc];
    if (rf !== undefined && Number(rf) !== config.replication_factor) {
      warnings.push(`keyspace ${ks} has ${config.local_dc}: ${rf} replicas, config asks for ${config.replication_factor}; not altered (ALTER KEYSPACE, then repair)`);
    }
  }
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${ks}.schema_migrations (version int PRIMARY KEY, name text, checksum text, applied_at timestamp)`,
  );
  const state = await schemaState(client, ks);
  const problem = schemaProblem({ ...state, version: 0, bucketMs: 0 }, ks); // only the checksum rule applies before migrating
  if (problem && /edited/.test(problem)) throw new Error(problem);
  if (state.version > LATEST_SCHEMA_VERSION) {
    throw new Error(`keyspace "${ks}" is at schema version ${state.version}, newer than this build knows (${LATEST_SCHEMA_VERSION})`);
  }
  const done = new Set(state.applied.map((a) => a.version));
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    log(`applying migration ${m.version} (${m.name}): ${m.statements.length} statements`);
    for (const cql of m.statements) await client.execute(qualify(cql, ks));
    await client.execute(
      `INSERT INTO ${ks}.schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)`,
      [m.version, m.name, migrationChecksum(m), new Date()],
      { prepare: true, consistency: types.consistencies.localQuorum },
    );
    applied.push(m.version);
  }
  // The bucket width is fixed for the keyspace's life: recorded once (LWT), read by every store.
  const bucket = await client.execute(
    `INSERT INTO ${ks}.store_meta (key, value) VALUES ('bucket_ms', ?) IF NOT EXISTS`,
    [String(config.bucket_ms ?? BUCKET_MS_DEFAULT)],
    { prepare: true, consistency: types.consistencies.localQuorum, serialConsistency: types.consistencies.localSerial },
  );
  const row = bucket.first();
  const bucketMs = row['[applied]'] ? (config.bucket_ms ?? BUCKET_MS_DEFAULT) : Number(row.value);
  if (config.bucket_ms !== null && bucketMs !== config.bucket_ms) {
    warnings.push(`keyspace ${ks} was created with bucket_ms=${bucketMs}; the configured ${config.bucket_ms} is ignored`);
  }
  const after = await schemaState(client, ks);
  return { created: !before.keyspaceExists, applied, version: after.version, bucketMs, replication: after.replication ?? {}, warnings };
}

/** Put the keyspace in front of the table name of a CREATE TABLE / CREATE INDEX / ALTER TABLE statement. */
export function qualify(cql: string, keyspace: string): string {
  const re = /^(\s*(?:CREATE\s+TABLE|ALTER\s+TABLE|DROP\s+TABLE|CREATE\s+(?:CUSTOM\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?\w*\s*ON|CREATE\s+MATERIALIZED\s+VIEW|CREATE\s+TYPE)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?)([a-z_][a-z0-9_]*)\b/i;
  const m = re.exec(cql);
  if (!m) throw new Error(`migration statement has no table name to qualify: ${cql.slice(0, 80)}`);
  return cql.slice(0, m[1]!.length) + `${keyspace}.${m[2]}` + cql.slice(m[0].length);
}
