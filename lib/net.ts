// Free TCP ports on loopback for the project's own processes (tests, benches, launchers).
import { createServer, type Server } from 'node:net';

/** One free port on 127.0.0.1 (released before it is returned: another process could take it first). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/**
 * n distinct free ports: every listener stays open until all are chosen, so the OS cannot hand
 * the same just-released port out twice (CQL and JMX on one port made a Cassandra node fail to start).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((srv) => (srv.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((srv) => new Promise((resolve) => srv.close(resolve))));
  }
}
