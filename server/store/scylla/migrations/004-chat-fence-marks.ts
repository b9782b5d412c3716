// Migration 4: the token a chat was last loaded under by its partition's owner, a static cell of
// the chat's chat_members partition (read with the members, no extra request). A first load under a
// newer token tombstones a former owner's late message rows and sets it (late-rows.ts,
// docs/design/005-scylla-store.md "Late rows").
import type { Migration } from './migration';

export const chatFenceMarks: Migration = {
  version: 4,
  name: 'chat-fence-marks',
  statements: [`ALTER TABLE chat_members ADD fenced_token bigint static`],
};
