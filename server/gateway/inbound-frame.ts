// The gateway's per-frame inbound step, kept apart from the socket so it can
// run in process (the deterministic perf-gate workload, tools/perf-gate/
// instr-workload.ts): decode a client frame once and validate it at the edge
// (server/common/validation.ts). Per frame: one protobuf decode, one
// validation walk, no copy (the frame is a view into the socket's message),
// and no allocation beyond the decoded frame on the accepted path.
import type { Limits } from '../common/config';
import { burnWork } from '../common/debug-slowdown';
import { ClientFrameType, decodeClientFrame, type ClientFrame } from '../common/protocol';
import { clientFrameProblem } from '../common/validation';

/** A frame the gateway answers with an error instead of relaying: the ref to answer and why. */
export class InboundReject {
  constructor(readonly ref: number, readonly error: unknown) {}
}

/** Decode and validate one frame. `slowdownWork`: the test aid WA_DEBUG_SLOWDOWN_WORK (0 in production). */
export function readInboundFrame(bytes: Uint8Array, limits: Limits, slowdownWork = 0): ClientFrame | InboundReject {
  if (slowdownWork > 0) burnWork(slowdownWork);
  let frame: ClientFrame;
  try {
    frame = decodeClientFrame(bytes);
  } catch (err) {
    return new InboundReject(safeRef(bytes), err);
  }
  const problem = clientFrameProblem(frame, limits);
  if (problem) return new InboundReject(frame.ref, problem);
  return frame;
}

/** The ref of a frame that failed validation (even one with no known body), or 0 if it does not decode at all. */
function safeRef(bytes: Uint8Array): number {
  try {
    return (ClientFrameType.decode(bytes) as unknown as { ref?: number }).ref ?? 0;
  } catch {
    return 0;
  }
}
