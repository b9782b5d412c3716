// Migration 3: a user's last-seen privacy setting (LastSeenPrivacy in proto/client.proto;
// docs/design/015-abuse-and-authorization.md). A null cell reads as 0 (everyone).
import type { Migration } from './migration';

export const lastSeenPrivacy: Migration = {
  version: 3,
  name: 'last-seen-privacy',
  statements: [`ALTER TABLE users ADD last_seen_privacy int`],
};
