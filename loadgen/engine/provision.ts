// Bulk user provisioning over the chat service's gRPC control plane
// (ProvisionUsers), so users who start offline exist (a send to a user the
// system never saw is UNKNOWN_USER) without a connection storm. Setup only.
import * as grpc from '@grpc/grpc-js';
import { ChatServiceClient } from '../../server/common/grpc-defs';
import { clientProof, PEER_AUTH_HEADER, peerKey } from '../../server/common/peer-auth';

/** Users per call: small enough not to stall the chat service's loop for long (one store transaction each). */
const PROVISION_CHUNK_USERS = 50_000;
const PROVISION_CALL_TIMEOUT_MS = 60_000;

/** `secret`: the system's token secret; the call proves itself with it (server/common/peer-auth.ts) as a gateway does. */
export async function provisionUsers(chatTarget: string, firstUser: number, count: number, secret: string): Promise<number> {
  const key = peerKey(secret);
  const client = new ChatServiceClient(chatTarget, grpc.credentials.createInsecure()) as unknown as grpc.Client &
    Record<string, (r: object, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: Error | null, r: { created: number }) => void) => void>;
  let created = 0;
  try {
    for (let at = 0; at < count; at += PROVISION_CHUNK_USERS) {
      const n = Math.min(PROVISION_CHUNK_USERS, count - at);
      const reply = await new Promise<{ created: number }>((resolve, reject) =>
        client.ProvisionUsers!.call(client, { first_user: firstUser + at, count: n }, authMetadata(key),
          { deadline: Date.now() + PROVISION_CALL_TIMEOUT_MS }, (err, res) => (err ? reject(err) : resolve(res))),
      );
      created += Number(reply.created);
    }
  } finally {
    client.close();
  }
  return created;
}

function authMetadata(key: Buffer): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(PEER_AUTH_HEADER, clientProof(key, 'loadgen').proof);
  return md;
}
