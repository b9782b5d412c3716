// The gateway's per-frame inbound step, kept apart from the socket so it can
// run in process (the deterministic perf-gate workload, tools/perf-gate/
// instr-workload.ts): decode a client frame once and validate it at the edge
// (server/common/validation.ts). Per frame: one protobuf decode, one
// validation walk, no copy (the frame is a view into the socket's message).
import type { Limits } from '../common/config';
import { burnWork } from '../common/debug-slowdown';
import type { ProtocolError } from '../common/errors';
import { decodeClientFrame, type ClientFrame } from '../common/protocol';
import { clientFrameProblem } from '../common/validation';

export type InboundFrame =
  | { ok: true; frame: ClientFrame }
  /** decodeError: the bytes are not a ClientFrame (thrown by the decoder); problem: decoded but invalid. */
  | { ok: false; decodeError: unknown; problem: null }
  | { ok: false; decodeError: null; problem: ProtocolError; frame: ClientFrame };

/** Decode and validate one frame. `slowdownWork`: the test aid WA_DEBUG_SLOWDOWN_WORK (0 in production). */
export function readInboundFrame(bytes: Uint8Array, limits: Limits, slowdownWork = 0): InboundFrame {
  if (slowdownWork > 0) burnWork(slowdownWork);
  let frame: ClientFrame;
  try {
    frame = decodeClientFrame(bytes);
  } catch (err) {
    return { ok: false, decodeError: err, problem: null };
  }
  const problem = clientFrameProblem(frame, limits);
  if (problem) return { ok: false, decodeError: null, problem, frame };
  return { ok: true, frame };
}
