/**
 * A typed, framed WebSocket: every frame is one binary protobuf message.
 * A frame that does not decode closes the connection with close code 4400
 * and the reason `AGORA_ERR_BAD_FRAME: ...`; nothing is delivered for it.
 */
import { Emitter, type Event, AgoraError } from '@agora/common';
import { decodeFrame, encodeFrame, type MessageType } from '@agora/proto';
import WebSocket from 'ws';

/** Close code for a protocol violation (malformed frame or message). */
export const CLOSE_PROTOCOL_ERROR = 4400;
/** Close code when a newer connection replaced this one (same framework or agent). */
export const CLOSE_REPLACED = 4409;
/** Close code when the peer is not (or no longer) the leader. */
export const CLOSE_NOT_LEADER = 4307;
/** Close code for a refusal (e.g. an agent marked gone). */
export const CLOSE_REFUSED = 4403;

/** How long close() waits for the peer's closing handshake before dropping the socket. */
export const CLOSE_HANDSHAKE_GRACE_MS = 1000;

export interface ChannelClose {
  code: number;
  reason: string;
}

export interface FrameChannel<InMsg, OutProps> {
  /** Send one message; throws AGORA_ERR_CLOSED when the socket is not open. */
  send(message: OutProps): void;
  /** Like send, but returns false instead of throwing when closed. */
  trySend(message: OutProps): boolean;
  readonly onDidReceive: Event<InMsg>;
  readonly onDidClose: Event<ChannelClose>;
  /** Fired for a frame that did not decode, just before the channel closes. */
  readonly onDidReceiveBadFrame: Event<AgoraError>;
  close(code?: number, reason?: string): void;
  readonly isOpen: boolean;
  /** The remote address, for logs. */
  readonly remote: string;
}

export function wrapSocket<InProps, InMsg extends InProps, OutProps, OutMsg extends OutProps>(
  ws: WebSocket,
  inType: MessageType<InProps, InMsg>,
  outType: MessageType<OutProps, OutMsg>,
  remote = 'unknown',
): FrameChannel<InMsg, OutProps> {
  const received = new Emitter<InMsg>();
  const closed = new Emitter<ChannelClose>();
  const badFrame = new Emitter<AgoraError>();
  let open = ws.readyState === WebSocket.OPEN;

  ws.binaryType = 'nodebuffer';
  ws.on('open', () => {
    open = true;
  });
  ws.on('message', (data, isBinary) => {
    if (!open) return;
    let message: InMsg;
    try {
      if (!isBinary) throw new Error('text frame; expected one binary protobuf message');
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      message = decodeFrame(inType, bytes);
    } catch (err) {
      const error = new AgoraError('AGORA_ERR_BAD_FRAME', err instanceof Error ? err.message : String(err), {
        cause: err,
        data: { remote },
      });
      badFrame.fire(error);
      channel.close(CLOSE_PROTOCOL_ERROR, `AGORA_ERR_BAD_FRAME: ${error.message}`.slice(0, 120));
      return;
    }
    received.fire(message);
  });
  ws.on('close', (code, reason) => {
    open = false;
    closed.fire({ code, reason: reason.toString() });
    received.dispose();
    badFrame.dispose();
    closed.dispose();
  });
  ws.on('error', () => {
    // 'close' always follows 'error'; the close event carries the outcome.
  });

  const channel: FrameChannel<InMsg, OutProps> = {
    send(message) {
      if (!open) throw new AgoraError('AGORA_ERR_CLOSED', `connection to ${remote} is closed`);
      ws.send(encodeFrame(outType, message), { binary: true });
    },
    trySend(message) {
      if (!open) return false;
      ws.send(encodeFrame(outType, message), { binary: true });
      return true;
    },
    onDidReceive: received.event,
    onDidClose: closed.event,
    onDidReceiveBadFrame: badFrame.event,
    close(code = 1000, reason = '') {
      if (ws.readyState === WebSocket.CLOSED || ws.readyState === WebSocket.CLOSING) return;
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else {
        ws.close(code, reason);
        // A dead peer never answers the closing handshake (ws would wait 30 s): cut it after a short grace.
        const cut = setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_GRACE_MS);
        cut.unref();
        ws.once('close', () => clearTimeout(cut));
      }
      open = false;
    },
    get isOpen() {
      return open;
    },
    remote,
  };
  return channel;
}

export interface ConnectOptions {
  /** Give up connecting after this many ms. @default 5000 */
  timeoutMs?: number;
}

/** Open a WebSocket to `url` and resolve with a typed channel once it is open. */
export function connectChannel<InProps, InMsg extends InProps, OutProps, OutMsg extends OutProps>(
  url: string,
  inType: MessageType<InProps, InMsg>,
  outType: MessageType<OutProps, OutMsg>,
  options: ConnectOptions = {},
): Promise<FrameChannel<InMsg, OutProps>> {
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { handshakeTimeout: timeoutMs, perMessageDeflate: false });
    const channel = wrapSocket(ws, inType, outType, url);
    const onError = (err: Error) => {
      cleanup();
      reject(new AgoraError('AGORA_ERR_CLOSED', `cannot connect to ${url}: ${err.message}`, { cause: err }));
    };
    const onUnexpected = (_req: unknown, res: { statusCode?: number; headers: Record<string, unknown> }) => {
      cleanup();
      ws.terminate();
      const location = res.headers['location'];
      reject(
        new AgoraError(
          res.statusCode === 307 ? 'AGORA_ERR_NOT_LEADER' : 'AGORA_ERR_CLOSED',
          `cannot connect to ${url}: HTTP ${res.statusCode ?? '?'}`,
          { data: { status: res.statusCode, location } },
        ),
      );
    };
    const onOpen = () => {
      cleanup();
      resolve(channel);
    };
    const cleanup = () => {
      ws.off('error', onError);
      ws.off('open', onOpen);
      ws.off('unexpected-response', onUnexpected);
    };
    ws.once('error', onError);
    ws.once('open', onOpen);
    ws.once('unexpected-response', onUnexpected);
  });
}
