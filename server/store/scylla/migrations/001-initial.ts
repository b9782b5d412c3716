// Migration 1: the store's tables, designed for the seed's access patterns at
// scale. Why each table looks the way it does is in docs/design/005-scylla-store.md;
// the short version sits beside each statement. Every statement is idempotent
// (IF NOT EXISTS), so a migration interrupted halfway can simply run again.
import type { Migration } from './migration';

export const initial: Migration = {
  version: 1,
  name: 'initial',
  statements: [
    // Facts about the keyspace the store must agree with (bucket_ms: the message bucket width).
    `CREATE TABLE IF NOT EXISTS store_meta (key text PRIMARY KEY, value text)`,

    // Users by id. A row exists for a user iff created_ms is set (a last_seen UPDATE alone must not make one).
    `CREATE TABLE IF NOT EXISTS users (
       id bigint PRIMARY KEY, phone text, display_name text, created_ms bigint, last_seen_ms bigint)`,
    // Registration: phone -> id, claimed with an LWT (INSERT ... IF NOT EXISTS): one phone, one id.
    `CREATE TABLE IF NOT EXISTS users_by_phone (phone text PRIMARY KEY, id bigint)`,
    // Registration ids 1, 2, 3, ...: compare-and-set (LWT) on a counter row. Registration is rare.
    `CREATE TABLE IF NOT EXISTS id_counters (name text PRIMARY KEY, value bigint)`,

    // Chats: kind, group name and creator. Never deleted.
    `CREATE TABLE IF NOT EXISTS chats (chat_id text PRIMARY KEY, kind int, name text, created_by bigint)`,
    // Members of a chat with their watermarks: one partition per chat, read whole when a chat is loaded.
    `CREATE TABLE IF NOT EXISTS chat_members (
       chat_id text, user_id bigint,
       delivered_id bigint, delivered_seq bigint, read_id bigint, joined_seq bigint, admin boolean,
       PRIMARY KEY (chat_id, user_id))`,
    // A user's chats: the membership index, a copy of the user's delivered watermark, and for 1:1 chats the
    // pending-chat index (last_id/last_seq of the last message the peer sent, written with a TTL: upserted in
    // place per message, never deleted on ack). Rows are deleted only when a member leaves a group (rare), so
    // tombstones stay few; 3 h of gc grace is plenty for a one-DC cluster that repairs within hours.
    `CREATE TABLE IF NOT EXISTS user_chats (
       user_id bigint, chat_id text, kind int,
       delivered_id bigint, delivered_seq bigint, last_id bigint, last_seq bigint,
       PRIMARY KEY (user_id, chat_id))
     WITH gc_grace_seconds = 10800`,

    // Messages: one partition per (chat, time bucket), newest first, like Discord's. A partition holds at most
    // one bucket of one chat, so none grows without bound; history reads one or a few partitions.
    `CREATE TABLE IF NOT EXISTS messages (
       chat_id text, bucket bigint, id bigint,
       seq bigint, sender bigint, client_msg_id text, body blob, sent_at_ms bigint, kind int,
       PRIMARY KEY ((chat_id, bucket), id))
     WITH CLUSTERING ORDER BY (id DESC)`,
    // The buckets a chat has messages in, newest first: history and drains skip empty buckets (a chat silent
    // for a year costs no walk through 36 empty partitions). One row per chat per bucket, written once.
    `CREATE TABLE IF NOT EXISTS chat_buckets (chat_id text, bucket bigint, PRIMARY KEY (chat_id, bucket))
     WITH CLUSTERING ORDER BY (bucket DESC)`,
    // A group's newest (id, seq) for the offline drain's pending-chat check (groups are fanned out on read,
    // not written into 256 inboxes). Written with USING TIMESTAMP = id: the highest id wins without a read.
    `CREATE TABLE IF NOT EXISTS chat_heads (chat_id text PRIMARY KEY, last_id bigint, last_seq bigint)`,

    // Idempotent retries: (sender, client_msg_id) -> the message's key (chat, id; the bucket follows from the id).
    `CREATE TABLE IF NOT EXISTS client_ids (
       sender bigint, client_msg_id text, chat_id text, id bigint,
       PRIMARY KEY ((sender, client_msg_id)))`,

    // The highest message id stored, spread over rows keyed by an id lane (the column is still called "node":
    // ids once carried a node number, now a partition lane 0..1,023; a statement of a shipped migration is
    // never edited). Each commit writes its newest id into that id's lane row USING TIMESTAMP = id; a starting
    // node or a new partition owner mints ids above the max of all rows without scanning the messages.
    `CREATE TABLE IF NOT EXISTS id_high_water (node int PRIMARY KEY, max_id bigint)`,
  ],
};
