// The gateway process. Configuration from the environment:
//   WA_GATEWAY_HOST (127.0.0.1), WA_GATEWAY_PORT (9001; 0 = any free port)
//   WA_CHAT_TARGET (127.0.0.1:50051)   the chat service's gRPC address
//   WA_DATA_DIR (./data)               where the token secret file lives (or WA_TOKEN_SECRET)
//   WA_GATEWAY_ID (gw-<pid>)
//   WA_<LIMIT>                         any limit of server/common/config.ts
//   WA_METRICS (1)                     0 = no hot-path metric observations (cost comparisons only)
// Prometheus scrapes GET /metrics on the same port (server/metrics/gateway-metrics.ts).
// TLS is not terminated here: this uWS build has no TLS (and no
// permessage-deflate); TLS ends at the load balancer in front of gateways.
// Prints `gateway listening <host>:<port>` once it accepts connections.
import { resolve } from 'node:path';
import { DEFAULT_PORTS, envInt, loadLimits } from '../common/config';
import { loadSecret } from '../common/secret';
import { Gateway } from './gateway';

async function main(): Promise<void> {
  const env = process.env;
  const limits = loadLimits(env);
  const host = env.WA_GATEWAY_HOST || '127.0.0.1';
  const gateway = new Gateway({
    host,
    port: envInt(env, 'WA_GATEWAY_PORT', DEFAULT_PORTS.gateway_port),
    chatTarget: env.WA_CHAT_TARGET || `127.0.0.1:${DEFAULT_PORTS.chat_grpc_port}`,
    tokenSecret: loadSecret(env, resolve(env.WA_DATA_DIR || 'data'), false),
    limits,
    gatewayId: env.WA_GATEWAY_ID || `gw-${process.pid}`,
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
