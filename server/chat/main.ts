// The chat service process. Every setting comes from the environment, read
// by server/common/config.ts (chatSettings, where each variable is described):
//   WA_CHAT_HOST, WA_CHAT_PORT, WA_CHAT_METRICS_PORT, WA_DATA_DIR, WA_STORE
//   (embedded | scylla), WA_SQLITE_SYNC, the cluster settings WA_CLUSTER_ETCD,
//   WA_NODE_NAME, WA_CLUSTER_LEASE_SECONDS, WA_CHAT_ADVERTISE, WA_REDIS_URL (docs/design/013), WA_TOKEN_SECRET(_FILE),
//   WA_METRICS, WA_DEBUG_DRAIN, WA_<LIMIT> (any limit), WA_CODE_SENDER and WA_CODE_FILE
//   (where registration codes go: server/chat/code-sender.ts), and the test aids
//   WA_LOADTEST_PROVISIONING=1 (bulk users without verification, for the load generator) and
//   WA_DEBUG_SLOWDOWN_US / WA_DEBUG_SLOWDOWN_WORK (burn µs / work units per accepted message so the CI perf gate can
//   be shown to fail; never in production).
// The ScyllaDB store (WA_STORE=scylla; every knob in server/common/config-scylla.ts):
//   WA_SCYLLA_CONTACT_POINTS (127.0.0.1:9042)  comma list of host:port
//   WA_SCYLLA_KEYSPACE (wa)                    WA_SCYLLA_LOCAL_DC (datacenter1)
//   WA_SCYLLA_CONSISTENCY (LOCAL_QUORUM)       or LOCAL_ONE, QUORUM, ...: every read and write
//   WA_SCYLLA_RF (1)                           replicas in the local DC when migrate creates the keyspace
//   WA_SCYLLA_MIGRATE (0)                      1: create the keyspace / apply migrations at start
//   WA_SCYLLA_BUCKET_MS (10 days)              message partition bucket width, fixed when the keyspace is created
// Flags override the environment:
//   --store embedded|scylla --contact-points h:p,... --keyspace ks --local-dc dc
//   --consistency LOCAL_QUORUM --rf 3 --bucket-ms N --migrate
// A store that cannot start (no contact point answers, keyspace missing without
// migrate) makes the process exit 1 with one clear line within a few seconds.
// On start it prints `chat metrics listening <port>`, then one line
// `chat listening <host>:<port>` (launchers wait for it).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chatSettings, loadLimits, type ChatSettings } from '../common/config';
import { loadSecret } from '../common/secret';
import { SqliteStore } from '../store/embedded/sqlite-store';
import { flagOverrides, scyllaConfigFromEnvironment } from '../store/scylla/config';
import { openScyllaStore } from '../store/scylla/scylla-store';
import { ChatMetrics, type ChatMetricsSource } from '../metrics/chat-metrics';
import { serveMetrics } from '../metrics/http';
import { InstrumentedStore, StoreMetrics } from '../metrics/instrumented-store';
import { createProcessMetrics } from '../metrics/registry';
import type { MessageStore } from '../store/store';
import { codeSenderOf } from './code-sender';
import { ChatServer } from './grpc-server';

async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    options: {
      store: { type: 'string' },
      'contact-points': { type: 'string' },
      keyspace: { type: 'string' },
      'local-dc': { type: 'string' },
      consistency: { type: 'string' },
      rf: { type: 'string' },
      'bucket-ms': { type: 'string' },
      migrate: { type: 'boolean' },
    },
  });
  const limits = loadLimits();
  const settings = chatSettings();
  const { host, port, data_dir: dataDir, debug_slowdown_us: slowdownUs, debug_slowdown_work: slowdownWork } = settings;
  const secret = loadSecret(settings.secret, true);
  const metrics = createProcessMetrics();
  const codeSender = codeSenderOf(settings.code_sender);
  console.log(`chat: ${codeSender.describe}`);
  if (settings.loadtest_provisioning) {
    console.log('chat: !!! WA_LOADTEST_PROVISIONING=1: ProvisionUsers creates users without phone verification (a load-test aid, never production) !!!');
  }
  const rawStore = await openStore(flags.store || settings.store, settings, flags);
  const storeMetrics = new StoreMetrics(metrics.registry, rawStore.engine);
  const store = metrics.enabled ? new InstrumentedStore(rawStore, storeMetrics) : rawStore;
  const chatMetrics: ChatMetrics = new ChatMetrics(metrics.registry, (): ChatMetricsSource => ({
    stats: server.engine.stats,
    onlineUsers: () => server.engine.routes.onlineUsers,
    gatewayLinks: () => server.gatewayLinks,
    offlineQueue: () => server.engine.offlineQueueDepth(),
    drains: () => server.engine.drainCounts(),
  }));
  const server: ChatServer = new ChatServer({
    store, limits, tokenSecret: secret, host, port, debugDrain: settings.debug_drain, cluster: settings.cluster,
    codeSender, loadtestProvisioning: settings.loadtest_provisioning,
    log: (line) => console.log(`chat: ${line}`),
    metrics: metrics.enabled ? chatMetrics.hot : null,
  });
  server.engine.debugSlowdownUs = slowdownUs;
  if (slowdownUs > 0) console.log(`chat: WA_DEBUG_SLOWDOWN_US=${slowdownUs}: burning ${slowdownUs} µs of CPU per message (a test aid; never in production)`);
  server.engine.debugSlowdownWork = slowdownWork;
  if (slowdownWork > 0) console.log(`chat: WA_DEBUG_SLOWDOWN_WORK=${slowdownWork}: burning ${slowdownWork} work units per message (a test aid; never in production)`);
  const metricsServer = await serveMetrics(metrics.registry, host, settings.metrics_port);
  console.log(`chat metrics listening ${metricsServer.port}`);
  const bound = await server.start();
  const node = settings.cluster ? ` node=${settings.cluster.node_name}` : '';
  console.log(`chat listening ${host}:${bound} store=${store.engine} data=${dataDir}${node}`);

  const shutdown = async (signal: string) => {
    console.log(`chat: ${signal}, shutting down`);
    const s = server.engine.stats;
    console.log(`chat: stats ${JSON.stringify({ ...s, cpu: process.cpuUsage() })}`);
    await server.stop();
    await store.close();
    metrics.close();
    await metricsServer.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

async function openStore(kind: string, settings: ChatSettings, flags: Record<string, string | boolean | undefined>): Promise<MessageStore> {
  switch (kind) {
    case 'embedded':
      return new SqliteStore({ path: join(settings.data_dir, 'messages.sqlite'), synchronous: settings.sqlite_synchronous });
    case 'scylla':
      return openScyllaStore(scyllaConfigFromEnvironment(flagOverrides(flags)), (line) => console.log(`chat: ${line}`));
    default:
      throw new Error(`WA_STORE=${kind}: unknown store (known: embedded, scylla)`);
  }
}

main().catch((err) => {
  console.error(`chat: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
