// The chat service process. Configuration comes from the environment:
//   WA_CHAT_HOST (127.0.0.1), WA_CHAT_PORT (50051; 0 = any free port)
//   WA_DATA_DIR (./data)       where the embedded store and the token secret live
//   WA_STORE (embedded)        the store engine (scylla arrives with issue 6)
//   WA_NODE_ID (0)             0..15, part of every message id this node mints
//   WA_<LIMIT>                 any limit of server/common/config.ts
// On start it prints one line `chat listening <host>:<port>` (launchers wait for it).
import { join, resolve } from 'node:path';
import { DEFAULT_PORTS, envInt, loadLimits } from '../common/config';
import { loadSecret } from '../common/secret';
import { SqliteStore } from '../store/embedded/sqlite-store';
import type { MessageStore } from '../store/store';
import { ChatServer } from './grpc-server';

async function main(): Promise<void> {
  const env = process.env;
  const limits = loadLimits(env);
  const dataDir = resolve(env.WA_DATA_DIR || 'data');
  const host = env.WA_CHAT_HOST || '127.0.0.1';
  const port = envInt(env, 'WA_CHAT_PORT', DEFAULT_PORTS.chat_grpc_port);
  const secret = loadSecret(env, dataDir, true);
  const store = openStore(env.WA_STORE || 'embedded', dataDir);
  const server = new ChatServer({
    store, limits, tokenSecret: secret, host, port, nodeId: envInt(env, 'WA_NODE_ID', 0),
    log: (line) => console.log(`chat: ${line}`),
  });
  const bound = await server.start();
  console.log(`chat listening ${host}:${bound} store=${store.engine} data=${dataDir}`);

  const shutdown = async (signal: string) => {
    console.log(`chat: ${signal}, shutting down`);
    const s = server.engine.stats;
    console.log(`chat: stats ${JSON.stringify({ ...s, cpu: process.cpuUsage() })}`);
    await server.stop();
    await store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

function openStore(kind: string, dataDir: string): MessageStore {
  switch (kind) {
    case 'embedded':
      return new SqliteStore({ path: join(dataDir, 'messages.sqlite'), synchronous: process.env.WA_SQLITE_SYNC === 'FULL' ? 'FULL' : 'NORMAL' });
    default:
      throw new Error(`WA_STORE=${kind}: unknown store (known: embedded)`);
  }
}

main().catch((err) => {
  console.error(`chat: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
