// `--store sqlite|cassandra` of the multi-node benches (bench/failover.ts,
// bench/coordination.ts): the topology's shared store, one SQLite file or a
// local 3-node Cassandra cluster (RF=3, LOCAL_QUORUM) started once per bench run.
export type Store = 'sqlite' | 'cassandra';
export const STORES: readonly Store[] = ['sqlite', 'cassandra'];
