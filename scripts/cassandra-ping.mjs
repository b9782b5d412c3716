// Waits until a Cassandra/ScyllaDB node answers CQL, then prints its release version.
// Usage: node scripts/cassandra-ping.mjs [--host 127.0.0.1] [--port 9042] [--timeout 120]
// Exit 0 when `SELECT release_version FROM system.local` answered within the
// timeout (seconds), 1 otherwise. Used by scripts/cassandra.sh (no cqlsh here).
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const cassandra = require('cassandra-driver');

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '9042' },
    timeout: { type: 'string', default: '120' },
  },
});
const port = Number(values.port);
const deadline = Date.now() + Number(values.timeout) * 1000;

let lastError = 'no attempt';
while (Date.now() < deadline) {
  const left = Math.max(500, deadline - Date.now());
  const client = new cassandra.Client({
    contactPoints: [`${values.host}:${port}`],
    // Any name works for a single contact point; the driver only warns when it differs.
    localDataCenter: 'datacenter1',
    socketOptions: { connectTimeout: Math.min(5000, left), readTimeout: Math.min(10000, left) },
    pooling: { warmup: false },
    // One connection attempt per loop turn: the loop does the retrying.
    policies: { reconnection: new cassandra.policies.reconnection.ConstantReconnectionPolicy(60_000) },
  });
  try {
    await client.connect();
    const rs = await client.execute('SELECT release_version FROM system.local');
    console.log(rs.first().release_version);
    await client.shutdown();
    process.exit(0);
  } catch (err) {
    lastError = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    await client.shutdown().catch(() => {});
  }
  await new Promise((r) => setTimeout(r, 500));
}
console.error(`cassandra-ping: no CQL answer on ${values.host}:${port} within ${values.timeout}s (last error: ${lastError})`);
process.exit(1);
