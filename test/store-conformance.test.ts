// The store contract (test/helpers/store-conformance.ts) against the embedded
// SQLite store: on disk (the default, with a close + reopen durability check)
// and in memory (the throwaway store tests use).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../server/store/embedded/sqlite-store';
import { defineStoreConformance } from './helpers/store-conformance';

defineStoreConformance('sqlite on disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-store-conformance-'));
  const path = join(dir, 'store.db');
  let store = new SqliteStore({ path });
  return {
    store,
    reopen: async () => (store = new SqliteStore({ path })),
    peer: async () => new SqliteStore({ path }),
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

defineStoreConformance('sqlite in memory', async () => {
  const store = new SqliteStore({ path: ':memory:' });
  return { store, cleanup: () => store.close() };
});
