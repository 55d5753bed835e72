/** One protobuf message per WebSocket frame: encode and decode with a typed error. */

/** The static side of a generated message class. */
export interface MessageType<P, M extends P> {
  encode(message: P): { finish(): Uint8Array };
  decode(bytes: Uint8Array): M;
  toObject(message: M, options?: Record<string, unknown>): Record<string, unknown>;
}

/** A frame that is not a valid message of the expected type. Code: AGORA_ERR_BAD_FRAME. */
export class FrameDecodeError extends Error {
  readonly code = 'AGORA_ERR_BAD_FRAME';
  override readonly name = 'FrameDecodeError';
  constructor(
    readonly messageType: string,
    cause: unknown,
  ) {
    super(`malformed ${messageType} frame: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export function encodeFrame<P, M extends P>(type: MessageType<P, M>, message: P): Uint8Array {
  return type.encode(message).finish();
}

export function decodeFrame<P, M extends P>(type: MessageType<P, M> & { name?: string }, bytes: Uint8Array): M {
  try {
    return type.decode(bytes);
  } catch (err) {
    throw new FrameDecodeError(type.name ?? 'protobuf', err);
  }
}
