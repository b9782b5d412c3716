// Migration 5: the key directory (end-to-end encryption, server/store/scylla/scylla-keys.ts,
// docs/design/021-e2ee.md). A user's devices share one CQL partition (a fetch reads them in one
// query); each device's one-time prekeys are a partition of their own, clustered by id, so a take is
// a short slice read plus one Paxos round (DELETE ... IF public_key = ?) confined to that partition.
import type { Migration } from './migration';

export const keyDirectory: Migration = {
  version: 5,
  name: 'key-directory',
  statements: [
    `CREATE TABLE IF NOT EXISTS key_devices (
       user bigint, device int, registration_id int, identity_key blob,
       spk_id int, spk blob, spk_sig blob, kpk_id int, kpk blob, kpk_sig blob,
       PRIMARY KEY (user, device))`,
    `CREATE TABLE IF NOT EXISTS key_prekeys (
       user bigint, device int, id int, public_key blob,
       PRIMARY KEY ((user, device), id))`,
  ],
};
