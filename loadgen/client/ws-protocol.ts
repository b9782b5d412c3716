// RFC 6455's numbers as the lean client uses them: frame opcodes, close
// codes, and which close codes an endpoint may put on the wire. Const enums:
// the compiler inlines them, so the frame parser pays no lookup.

export const enum Opcode {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xa,
}

export const enum CloseCode {
  Normal = 1000,
  ProtocolError = 1002,
  /** Never on the wire: a close frame without a code. */
  NoStatus = 1005,
  /** Never on the wire: TCP went away without a close frame. */
  Abnormal = 1006,
  InvalidPayload = 1007,
  MessageTooBig = 1009,
}

/** Close codes an endpoint may put on the wire (RFC 6455 7.4, IANA registry). */
export function isValidWireCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}
