// The gateway process. Every setting comes from the environment, read by
// server/common/config.ts (gatewaySettings, where each variable is described):
//   WA_GATEWAY_HOST, WA_GATEWAY_PORT, WA_CHAT_TARGET, WA_GATEWAY_ID,
//   WA_DATA_DIR or WA_TOKEN_SECRET(_FILE) (the token secret), WA_METRICS,
//   WA_GATEWAY_COALESCE, WA_<LIMIT> (any limit).
// Prometheus scrapes GET /metrics on the same port (server/metrics/gateway-metrics.ts).
// TLS is not terminated here: this uWS build has no TLS (and no
// permessage-deflate); TLS ends at the load balancer in front of gateways.
// Prints `gateway listening <host>:<port>` once it accepts connections.
import { gatewaySettings, loadLimits } from '../common/config';
import { loadSecret } from '../common/secret';
import { Gateway } from './gateway';

async function main(): Promise<void> {
  const limits = loadLimits();
  const settings = gatewaySettings();
  const host = settings.host;
  const gateway = new Gateway({
    host,
    port: settings.port,
    chatTarget: settings.chat_target,
    tokenSecret: loadSecret(settings.secret, false),
    limits,
    gatewayId: settings.gateway_id,
    coalesce: settings.coalesce,
    log: (line) => console.log(`gateway: ${line}`),
  });
  const port = await gateway.listen();
  console.log(`gateway listening ${host}:${port} uws=native binary=${gateway.binaryPath}`);
  const shutdown = (signal: string) => {
    console.log(`gateway: ${signal}, shutting down`);
    console.log(`gateway: stats ${JSON.stringify({ ...gateway.stats, cpu: process.cpuUsage() })}`);
    gateway.close();
    setTimeout(() => process.exit(0), 100).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  console.error(`gateway: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
