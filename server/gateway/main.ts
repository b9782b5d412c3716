// The gateway process. Every setting comes from the environment, read by
// server/common/config.ts (gatewaySettings, where each variable is described):
//   WA_GATEWAY_HOST, WA_GATEWAY_PORT, WA_CHAT_TARGET, WA_GATEWAY_ID,
//   WA_DATA_DIR or WA_TOKEN_SECRET(_FILE) (the token secret), WA_METRICS,
//   WA_GATEWAY_COALESCE, WA_TRUSTED_PROXIES (load balancers whose X-Forwarded-For is believed), WA_<LIMIT> (any limit),
//   the test aid WA_DEBUG_SLOWDOWN_WORK (work units per inbound frame, so the CI perf gate can be shown to fail; never
//   in production); cluster mode: WA_CLUSTER_ETCD (chat nodes and
//   partition owners instead of WA_CHAT_TARGET), WA_REDIS_URL (the session directory);
//   media (server/common/config-media.ts): WA_BLOB_STORE, WA_BLOB_DIR, WA_BLOB_S3_*, WA_MEDIA_STAGING_DIR, WA_MEDIA_<LIMIT>.
// Prometheus scrapes GET /metrics on the same port (server/metrics/gateway-metrics.ts).
// TLS is not terminated here: this uWS build has no TLS (and no
// permessage-deflate); TLS ends at the load balancer in front of gateways.
// Prints `gateway listening <host>:<port>` once it accepts connections.
// SIGTERM drains (drain.ts: 503 to health checks and upgrades for up to
// gateway_drain_ms, then 1001 to the remaining sockets) and exits 0; SIGINT
// closes at once.
import { gatewaySettings, loadLimits } from '../common/config';
import { blobSettings, loadMediaLimits, stagingDirOf } from '../common/config-media';
import { openBlobStore } from '../media/open-blob-store';
import { UploadSessions } from '../media/uploads';
import { loadSecret } from '../common/secret';
import { drainAndClose } from './drain';
import { Gateway } from './gateway';

async function main(): Promise<void> {
  const limits = loadLimits();
  const settings = gatewaySettings();
  const host = settings.host;
  const mediaLimits = loadMediaLimits();
  const blobs = blobSettings();
  const store = await openBlobStore(blobs);
  const uploads = await UploadSessions.open(mediaLimits, stagingDirOf(blobs, settings.gateway_id), store);
  const gateway = new Gateway({
    host,
    port: settings.port,
    chatTarget: settings.chat_target,
    tokenSecret: loadSecret(settings.secret, false),
    limits,
    gatewayId: settings.gateway_id,
    coalesce: settings.coalesce,
    clusterEtcd: settings.cluster?.etcd,
    redisUrl: settings.cluster?.redis_url || undefined,
    trustedProxies: settings.trusted_proxies,
    debugSlowdownWork: settings.debug_slowdown_work,
    media: { limits: mediaLimits, store, uploads },
    log: (line) => console.log(`gateway: ${line}`),
  });
  if (settings.debug_slowdown_work > 0) {
    console.log(`gateway: WA_DEBUG_SLOWDOWN_WORK=${settings.debug_slowdown_work}: burning ${settings.debug_slowdown_work} work units per inbound frame (a test aid; never in production)`);
  }
  const port = await gateway.listen();
  console.log(`gateway listening ${host}:${port} uws=native binary=${gateway.binaryPath}`);
  let stopping = false;
  const shutdown = async (signal: string, drainMs: number) => {
    if (stopping) return;
    stopping = true;
    console.log(`gateway: ${signal}, shutting down`);
    await drainAndClose(gateway, drainMs, (line) => console.log(`gateway: ${line}`));
    console.log(`gateway: stats ${JSON.stringify({ ...gateway.stats, cpu: process.cpuUsage() })}`);
    // The close frames and the link's last batch are written; give the kernel a moment to send them.
    setTimeout(() => process.exit(0), 100).unref();
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM', limits.gateway_drain_ms));
  process.on('SIGINT', () => void shutdown('SIGINT', 0));
}

main().catch((err) => {
  console.error(`gateway: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
