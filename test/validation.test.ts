// The validation module (server/common/validation.ts): one error code per
// condition, the same wherever it runs (the gateway's edge and the chat
// service's wire decoder call these very functions).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_LIMITS } from '../server/common/config';
import { ErrorCode } from '../server/common/errors';
import { GroupChangeKind, type ClientFrame } from '../server/common/protocol';
import { clientFrameProblem, parseRegistration, provisionProblem } from '../server/common/validation';

const L = { ...DEFAULT_LIMITS, presence_watch_max: 2, group_members_max: 3, chat_id_bytes_max: 8, client_msg_id_bytes_max: 4, text_bytes_max: 10 };
const send = (s: Partial<{ to_user: number; client_msg_id: string; body: Uint8Array; chat_id: string }>): ClientFrame =>
  ({ ref: 1, body: 'send', send: { to_user: 0, client_msg_id: '', body: new Uint8Array(0), chat_id: '', ...s } });
const change = (g: Partial<{ chat_id: string; kind: number; users: number[]; name: string }>): ClientFrame =>
  ({ ref: 1, body: 'group_change', group_change: { chat_id: 'g.1', kind: GroupChangeKind.ADD, users: [], name: '', ...g } });

const CASES: [string, ClientFrame, ErrorCode | null][] = [
  ['a well-formed 1:1 send', send({ to_user: 5, client_msg_id: 'a' }), null],
  ['a well-formed group send', send({ chat_id: 'g.1', client_msg_id: 'a' }), null],
  ['a body over text_bytes_max', send({ to_user: 5, client_msg_id: 'a', body: new Uint8Array(11) }), ErrorCode.TEXT_TOO_LONG],
  ['no client_msg_id', send({ to_user: 5 }), ErrorCode.MISSING_FIELD],
  ['a client_msg_id over its byte limit (multi-byte characters count as bytes)', send({ to_user: 5, client_msg_id: 'éé€' }), ErrorCode.FIELD_TOO_LONG],
  ['neither to_user nor chat_id', send({ client_msg_id: 'a' }), ErrorCode.MISSING_FIELD],
  ['a chat_id over its byte limit', send({ chat_id: 'g.123456789', client_msg_id: 'a' }), ErrorCode.FIELD_TOO_LONG],
  ['an ack without chat_id', { ref: 1, body: 'ack', ack: { chat_id: '', delivered_up_to: 1, read_up_to: 0 } }, ErrorCode.MISSING_FIELD],
  ['an ack with an over-long chat_id', { ref: 1, body: 'ack', ack: { chat_id: 'd.1234.5678', delivered_up_to: 1, read_up_to: 0 } }, ErrorCode.FIELD_TOO_LONG],
  ['a history request without chat_id', { ref: 1, body: 'history', history: { chat_id: '', before_id: 0, limit: 0 } }, ErrorCode.MISSING_FIELD],
  ['watching more than presence_watch_max', { ref: 1, body: 'presence_subscribe', presence_subscribe: { user_ids: [1, 2, 3] } }, ErrorCode.TOO_MANY_WATCHED],
  ['a group over group_members_max', { ref: 1, body: 'create_group', create_group: { name: 'g', members: [1, 2, 3] } }, ErrorCode.GROUP_FULL],
  ['a group name over its byte limit', { ref: 1, body: 'create_group', create_group: { name: 'n'.repeat(101), members: [] } }, ErrorCode.FIELD_TOO_LONG],
  ['a group change of an unknown kind', change({ kind: 99 }), ErrorCode.INVALID_ARGUMENT],
  ['a group change naming more users than a group holds', change({ users: [1, 2, 3, 4] }), ErrorCode.INVALID_ARGUMENT],
  ['a group change without chat_id', change({ chat_id: '' }), ErrorCode.MISSING_FIELD],
  ['a rename to an over-long name', change({ kind: GroupChangeKind.RENAME, name: 'n'.repeat(101) }), ErrorCode.FIELD_TOO_LONG],
  ['a message_info without chat_id', { ref: 1, body: 'message_info', message_info: { chat_id: '', id: 1 } }, ErrorCode.MISSING_FIELD],
  ['a ping', { ref: 1, body: 'ping', ping: { client_time_ms: 1 } }, null],
  ['a last-seen privacy of an unknown value', { ref: 1, body: 'set_privacy', set_privacy: { last_seen: 9 } }, ErrorCode.INVALID_ARGUMENT],
  ['a last-seen privacy of NOBODY', { ref: 1, body: 'set_privacy', set_privacy: { last_seen: 3 } }, null],
];

describe('validation: one code per condition', () => {
  for (const [what, frame, code] of CASES) {
    test(`${what}: ${code ?? 'accepted'}`, () => {
      assert.equal(clientFrameProblem(frame, L)?.code ?? null, code);
    });
  }

  test('a registration body of any JSON shape gets a registration or INVALID_ARGUMENT, never a throw', () => {
    for (const body of [null, 42, 'x', [1], true, {}, { phone: 123 }, { phone: '+14155550123' }]) {
      const r = parseRegistration(body, L);
      assert.ok('code' in r && r.code === ErrorCode.INVALID_ARGUMENT, JSON.stringify(body));
    }
    assert.equal((parseRegistration({ phone: '+14155550123', display_name: 'Ann' }, L) as { code: string }).code, ErrorCode.MISSING_FIELD,
      'a registration without its verification code is refused');
    assert.equal((parseRegistration({ phone: '+14155550123', display_name: 'Ann', code: '12ab56' }, L) as { code: string }).code, ErrorCode.INVALID_ARGUMENT);
    assert.deepEqual(parseRegistration({ phone: '+14155550123', display_name: 'Ann', code: '123456' }, L),
      { phone: '+14155550123', display_name: 'Ann', code: '123456' });
  });

  test('bulk provisioning stays above the id floor and within provision_users_per_call_max', () => {
    assert.equal(provisionProblem(1000, 10, 1000, L), null);
    assert.equal(provisionProblem(999, 10, 1000, L)?.code, ErrorCode.INVALID_ARGUMENT);
    assert.equal(provisionProblem(1000, 0, 1000, L)?.code, ErrorCode.INVALID_ARGUMENT);
    assert.equal(provisionProblem(1000, L.provision_users_per_call_max + 1, 1000, L)?.code, ErrorCode.INVALID_ARGUMENT);
  });
});
