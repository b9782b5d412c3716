// The embedded store's WAL stays bounded under a steady stream of commits, and the writer never
// pays for shrinking it. Before: PASSIVE checkpoints alone were never "complete" when the writer
// began a transaction, so the WAL was rarely rewound and grew by every commit (1 GB in 30 s at
// 2k msg/s); when it finally was, the writer truncated it and blocked for ~300 ms.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { directChatId } from '../server/common/chat-id';
import { IdGenerator, PROVISIONED_USER_ID_MIN } from '../server/common/ids';
import { SqliteStore } from '../server/store/embedded/sqlite-store';
import { ChatKind, MessageKind, emptyBatch, type ChatState, type StoredMessage } from '../server/store/store';

const RESTART_BYTES = 1 << 20;
const COMMITS = 3000;
const MESSAGES_PER_COMMIT = 8;

/** The largest the WAL file got while COMMITS commits streamed in at ~1 per ms, and whether every commit is there. */
async function streamCommits(walRestartBytes: number): Promise<{ walMax: number; dbBytes: number; written: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'wa-wal-'));
  const path = join(dir, 'store.db');
  const store = new SqliteStore({ path, walRestartBytes });
  try {
    const ids = new IdGenerator(1);
    const chats: ChatState[] = [];
    for (let i = 0; i < 200; i++) {
      const a = PROVISIONED_USER_ID_MIN + 2 * i;
      const b = a + 1;
      chats.push({
        chat_id: directChatId(a, b), kind: ChatKind.Direct, last_id: 0, last_seq: 0, name: '', created_by: 0,
        members: new Map([a, b].map((user) => [user, { user, delivered_id: 0, delivered_seq: 0, read_id: 0, joined_seq: 0, admin: false }])),
      });
    }
    await store.commit({ ...emptyBatch(), new_chats: chats });
    let walMax = 0;
    let written = 0;
    for (let c = 0; c < COMMITS; c++) {
      const messages: StoredMessage[] = [];
      for (let m = 0; m < MESSAGES_PER_COMMIT; m++) {
        const chat = chats[(c * MESSAGES_PER_COMMIT + m) % chats.length]!;
        const id = ids.next();
        chat.last_id = id;
        chat.last_seq += 1;
        messages.push({
          id, chat_id: chat.chat_id, seq: chat.last_seq, sender: [...chat.members.keys()][0]!, client_msg_id: `w${id}`,
          body: Buffer.alloc(200, c), sent_at_ms: Date.now(), kind: MessageKind.User,
        });
      }
      await store.commit({ ...emptyBatch(), messages });
      written += messages.length;
      // ~1 commit per ms, as the chat service's ticks at a few thousand msg/s (~20 MB/s of WAL).
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (c % 100 === 0) walMax = Math.max(walMax, statSync(`${path}-wal`).size);
    }
    walMax = Math.max(walMax, statSync(`${path}-wal`).size);
    const last = chats[0]!;
    const page = await store.history(last.chat_id, 0, 5);
    assert.equal(page[0]?.seq, last.last_seq, 'the newest message of a chat is stored');
    return { walMax, dbBytes: statSync(path).size, written };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Side by side with a store whose checkpoint thread never rewinds the WAL (the behaviour before the
// fix), so a loaded machine - a starved checkpoint thread lets the WAL run further past its restart
// size - cannot fail the test while a WAL that grows with every commit still does.
test('a steady stream of commits keeps the WAL near its restart size, and every commit is there', async () => {
  const bounded = await streamCommits(RESTART_BYTES);
  const unbounded = await streamCommits(2 ** 40);
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  console.log(`# ${bounded.written} messages in ${COMMITS} commits: WAL at most ${mib(bounded.walMax)} MiB ` +
    `(restart at ${mib(RESTART_BYTES)} MiB; never rewound: ${mib(unbounded.walMax)} MiB), database ${mib(bounded.dbBytes)} MiB`);
  assert.ok(bounded.walMax * 3 < unbounded.walMax,
    `the WAL stayed bounded: ${bounded.walMax} bytes against ${unbounded.walMax} never rewound (restart at ${RESTART_BYTES})`);
  assert.ok(bounded.walMax < 64 * RESTART_BYTES, `the WAL stayed within 64x its restart size: ${bounded.walMax} bytes`);
});
