// The ScyllaDB store's schema history, in order. A migration is an ordered list
// of CQL statements; server/store/scylla/schema.ts applies the ones a keyspace
// has not seen and records each in <keyspace>.schema_migrations.
//
// Rules: never edit a migration once it has shipped (schema.ts compares a
// checksum and refuses an edited one); add a new one with the next version.
// Table names are unqualified: the migrator runs them inside the keyspace.
import { initial } from './001-initial';
import { partitionFences } from './002-partition-fences';
import { lastSeenPrivacy } from './003-last-seen-privacy';
import { chatFenceMarks } from './004-chat-fence-marks';
import { keyDirectory } from './005-key-directory';
import type { Migration } from './migration';

export type { Migration };

export const MIGRATIONS: readonly Migration[] = [initial, partitionFences, lastSeenPrivacy, chatFenceMarks, keyDirectory];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
