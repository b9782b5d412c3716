// The ScyllaDB store's CQL: every statement it runs, qualified with the
// keyspace, and the options each kind of request runs with (consistency,
// idempotence).
import { types } from 'cassandra-driver';
import { type ConsistencyName } from './config';

const CL: Record<ConsistencyName, number> = {
  LOCAL_ONE: types.consistencies.localOne,
  LOCAL_QUORUM: types.consistencies.localQuorum,
  ONE: types.consistencies.one,
  TWO: types.consistencies.two,
  THREE: types.consistencies.three,
  QUORUM: types.consistencies.quorum,
  EACH_QUORUM: types.consistencies.eachQuorum,
  ALL: types.consistencies.all,
};

/** The driver's consistency level for a configured name. */
export function consistencyLevel(name: ConsistencyName): number {
  return CL[name];
}

/** How each kind of request runs. */
export interface RequestOptions {
  /** Commit writes: idempotent upserts and deletes, so the driver may retry them on a timeout. */
  write: { prepare: true; isIdempotent: true; consistency: number };
  read: { prepare: true; isIdempotent: true; consistency: number };
  /** Registration's compare-and-sets (LWT): not idempotent, never retried blindly. */
  lwt: { prepare: true; isIdempotent: false; consistency: number; serialConsistency: number };
}

export function requestOptions(name: ConsistencyName): RequestOptions {
  const consistency = CL[name];
  return {
    write: { prepare: true, isIdempotent: true, consistency },
    read: { prepare: true, isIdempotent: true, consistency },
    lwt: { prepare: true, isIdempotent: false, consistency, serialConsistency: types.consistencies.localSerial },
  };
}

export type Statements = ReturnType<typeof statements>;

/** Every statement of the store, qualified with the keyspace (prepared on first use, routed by partition key). */
export function statements(ks: string) {
  const msgCols = 'id, seq, sender, client_msg_id, body, sent_at_ms, kind';
  return {
    userGet: `SELECT phone, display_name, created_ms, last_seen_ms, last_seen_privacy FROM ${ks}.users WHERE id = ?`,
    userPrivacy: `UPDATE ${ks}.users SET last_seen_privacy = ? WHERE id = ?`,
    userExists: `SELECT created_ms FROM ${ks}.users WHERE id = ?`,
    userEnsure: `INSERT INTO ${ks}.users (id, created_ms) VALUES (?, ?)`,
    userRegister: `INSERT INTO ${ks}.users (id, phone, display_name, created_ms) VALUES (?, ?, ?, ?)`,
    userDelete: `DELETE FROM ${ks}.users WHERE id = ?`,
    userLastSeen: `UPDATE ${ks}.users SET last_seen_ms = ? WHERE id = ?`,
    phoneGet: `SELECT id FROM ${ks}.users_by_phone WHERE phone = ?`,
    phoneClaim: `INSERT INTO ${ks}.users_by_phone (phone, id) VALUES (?, ?) IF NOT EXISTS`,
    counterGet: `SELECT value FROM ${ks}.id_counters WHERE name = ?`,
    counterInit: `INSERT INTO ${ks}.id_counters (name, value) VALUES (?, ?) IF NOT EXISTS`,
    counterCas: `UPDATE ${ks}.id_counters SET value = ? WHERE name = ? IF value = ?`,
    chatGet: `SELECT kind, name, created_by FROM ${ks}.chats WHERE chat_id = ?`,
    chatInsert: `INSERT INTO ${ks}.chats (chat_id, kind, name, created_by) VALUES (?, ?, ?, ?)`,
    chatRename: `UPDATE ${ks}.chats SET name = ? WHERE chat_id = ?`,
    membersGet: `SELECT user_id, delivered_id, delivered_seq, read_id, joined_seq, admin, fenced_token FROM ${ks}.chat_members WHERE chat_id = ?`,
    memberInsert: `INSERT INTO ${ks}.chat_members (chat_id, user_id, delivered_id, delivered_seq, read_id, joined_seq, admin) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    memberUpdate: `UPDATE ${ks}.chat_members SET delivered_id = ?, delivered_seq = ?, read_id = ?, admin = ? WHERE chat_id = ? AND user_id = ?`,
    chatFenceMark: `UPDATE ${ks}.chat_members USING TIMESTAMP ? SET fenced_token = ? WHERE chat_id = ?`,
    memberDelete: `DELETE FROM ${ks}.chat_members WHERE chat_id = ? AND user_id = ?`,
    userChatInsert: `INSERT INTO ${ks}.user_chats (user_id, chat_id, kind, delivered_id, delivered_seq) VALUES (?, ?, ?, ?, ?)`,
    userChatDelivered: `UPDATE ${ks}.user_chats SET delivered_id = ?, delivered_seq = ? WHERE user_id = ? AND chat_id = ?`,
    userChatDelete: `DELETE FROM ${ks}.user_chats WHERE user_id = ? AND chat_id = ?`,
    inboxTouch: `UPDATE ${ks}.user_chats USING TTL ? SET last_id = ?, last_seq = ? WHERE user_id = ? AND chat_id = ?`,
    userChatsGet: `SELECT chat_id, kind, delivered_id, delivered_seq, last_seq FROM ${ks}.user_chats WHERE user_id = ?`,
    messageInsert: `INSERT INTO ${ks}.messages (chat_id, bucket, id, seq, sender, client_msg_id, body, sent_at_ms, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    messageGet: `SELECT ${msgCols} FROM ${ks}.messages WHERE chat_id = ? AND bucket = ? AND id = ?`,
    messagesBefore: `SELECT ${msgCols} FROM ${ks}.messages WHERE chat_id = ? AND bucket = ? AND id < ? LIMIT ?`,
    messagesAfter: `SELECT ${msgCols} FROM ${ks}.messages WHERE chat_id = ? AND bucket = ? AND id > ? ORDER BY id ASC LIMIT ?`,
    headAtOrBelow: `SELECT id, seq FROM ${ks}.messages WHERE chat_id = ? AND bucket = ? AND id <= ? LIMIT 1`,
    lateRowsDelete: `DELETE FROM ${ks}.messages USING TIMESTAMP ? WHERE chat_id = ? AND bucket = ? AND id > ?`,
    bucketInsert: `INSERT INTO ${ks}.chat_buckets (chat_id, bucket) VALUES (?, ?)`,
    bucketsDesc: `SELECT bucket FROM ${ks}.chat_buckets WHERE chat_id = ? AND bucket <= ? LIMIT ?`,
    bucketsAsc: `SELECT bucket FROM ${ks}.chat_buckets WHERE chat_id = ? AND bucket >= ? ORDER BY bucket ASC LIMIT ?`,
    headWrite: `UPDATE ${ks}.chat_heads USING TIMESTAMP ? SET last_id = ?, last_seq = ? WHERE chat_id = ?`,
    headGet: `SELECT last_seq FROM ${ks}.chat_heads WHERE chat_id = ?`,
    clientIdInsert: `INSERT INTO ${ks}.client_ids (sender, client_msg_id, chat_id, id) VALUES (?, ?, ?, ?) USING TTL ?`,
    clientIdGet: `SELECT chat_id, id FROM ${ks}.client_ids WHERE sender = ? AND client_msg_id = ?`,
    highWaterWrite: `UPDATE ${ks}.id_high_water USING TIMESTAMP ? SET max_id = ? WHERE node = ?`,
    highWaterAll: `SELECT max_id FROM ${ks}.id_high_water`,
    fencesGet: `SELECT partition, fence_token FROM ${ks}.partition_fences WHERE fence_group = ? AND partition IN ?`,
    fenceInsert: `INSERT INTO ${ks}.partition_fences (fence_group, partition, fence_token) VALUES (?, ?, ?) IF NOT EXISTS`,
    fenceRaise: `UPDATE ${ks}.partition_fences SET fence_token = ? WHERE fence_group = ? AND partition = ? IF fence_token = ?`,
  };
}
