// Fuzz target: `loadgen run`'s flag values (loadgen/commands/run-flags.ts).
// Any string for any flag gives typed flags within their ranges or a
// UsageError (exit 104) naming the flag, never another error: before, a bad
// --target threw a TypeError (exit 1), a bad --duration a plain Error and
// --user-base abc a NaN that reached every user id.
// Replay a failure: WA_FUZZ_SEED=<seed printed> node --test dist/test/fuzz-cli-flags.test.js
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { UsageError } from '../loadgen/commands/errors';
import { checkRunFlags, type RunFlagValues } from '../loadgen/commands/run-flags';
import { fuzz } from './fuzz/harness';

const FLAGS: (keyof RunFlagValues)[] = ['driver', 'transport', 'scale', 'duration', 'users', 'shard', 'workers', 'target', 'metrics-port', 'procs',
  'start-at', 'user-base', 'interval', 'local-addresses', 'e2ee'];

const value = fc.oneof(
  fc.constantFrom('', ' ', '0', '-1', '1', '2', '1.5', 'NaN', 'Infinity', '1e400', '0x10', 'off', 'lean', 'ws', 'bare', 'system', 'on', '1/2', '3/2', '0/0',
    '10s', '1m30s', 'abc', 'ws://127.0.0.1:9001/v1/ws', 'ws://10.0.0.1/', 'http://127.0.0.1/', 'notaurl', 'ws://[::1]:1/', 'ws://127.0.0.1:99999/',
    '127.0.0.1-127.0.0.8', '127.0.0.9-127.0.0.1', '127.300.0.1', '2026-12-06T08:00:00Z', '9007199254740993', ','),
  fc.string({ maxLength: 30 }),
);

describe('loadgen run flags: regressions found by fuzzing', () => {
  test('regression: --target notaurl, --duration abc and --user-base abc are UsageErrors (exit 104), not a TypeError, an Error or a NaN', () => {
    for (const v of [{ target: 'notaurl' }, { duration: 'abc' }, { 'user-base': 'abc' }, { interval: '5 parsecs' }, { workers: '1e400' }]) {
      assert.throws(() => checkRunFlags(v), (e: unknown) => e instanceof UsageError, JSON.stringify(v));
    }
  });
});

describe('fuzz: loadgen run flags', () => {
  test('any string for any flag gives flags within range or a UsageError', async () => {
    await fuzz('cli-run-flags', 3000, fc.property(fc.dictionary(fc.constantFrom(...FLAGS), value, { maxKeys: 4 }), (values) => {
      let flags;
      try {
        flags = checkRunFlags(values as RunFlagValues);
      } catch (err) {
        assert.ok(err instanceof UsageError, `${JSON.stringify(values)}: ${String(err)}`);
        return;
      }
      for (const [k, v] of Object.entries(flags)) {
        if (typeof v === 'number') assert.ok(Number.isFinite(v) && v >= 0, `${k} = ${v}`);
      }
      if (flags.userBase !== undefined) assert.ok(Number.isSafeInteger(flags.userBase));
      // Any host (issue 17: remote targets); ws:// or wss:// and no credentials in the URL.
      for (const u of flags.targetUrls ?? []) assert.ok(/^wss?:$/.test(new URL(u).protocol) && !new URL(u).username && !new URL(u).password, u);
      for (const a of flags.localAddresses ?? []) assert.match(a, /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/);
    }));
  });
});
