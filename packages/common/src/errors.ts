/**
 * Typed errors with stable codes. Detect errors by `code`, never by message
 * text or `instanceof` across packages. Every code is listed in
 * `docs/errors.md`; a test fails when one is missing there.
 */

/** Every stable error code, with a one-line meaning. */
export const ERROR_CODES = {
  AGORA_ERR_INTERNAL: 'an unexpected internal failure',
  AGORA_ERR_BAD_FRAME: 'a WebSocket frame that is not a valid protobuf message of the expected type',
  AGORA_ERR_BAD_RESOURCES: 'a resources string or list that cannot be parsed or is invalid',
  AGORA_ERR_BAD_ATTRIBUTES: 'an attributes string that cannot be parsed',
  AGORA_ERR_BAD_FLAG: 'a command-line flag that is unknown, missing or has a bad value',
  AGORA_ERR_BAD_REQUEST: 'a request that is malformed or breaks the protocol',
  AGORA_ERR_NOT_LEADER: 'a request to a master or framework instance that is not the leader',
  AGORA_ERR_NO_LEADER: 'no leader is elected',
  AGORA_ERR_NOT_SUBSCRIBED: 'a scheduler call before SUBSCRIBE or for an unknown framework',
  AGORA_ERR_UNKNOWN_OFFER: 'an offer id that is unknown, already used or rescinded',
  AGORA_ERR_INVALID_OPERATION: 'an offer operation that is invalid (e.g. resources not in the offer)',
  AGORA_ERR_UNKNOWN_AGENT: 'an agent id the master does not know',
  AGORA_ERR_AGENT_REFUSED: 'an agent the master refuses (e.g. marked gone)',
  AGORA_ERR_UNKNOWN_TASK: 'a task id that is unknown',
  AGORA_ERR_COORDINATION: 'a ZooKeeper failure (connection, session, election)',
  AGORA_ERR_STORAGE: 'a failure of the state store (Redis or files)',
  AGORA_ERR_LAUNCH_FAILED: 'a task process could not be launched',
  AGORA_ERR_TIMEOUT: 'an operation did not finish in time',
  AGORA_ERR_CLOSED: 'a component or connection is closed',
  AGORA_ERR_APP_INVALID: 'a Marathon app definition that fails validation (HTTP 422)',
  AGORA_ERR_INVALID_JSON: 'a request body that is not valid JSON (HTTP 400)',
  AGORA_ERR_APP_NOT_FOUND: 'a Marathon app that does not exist (HTTP 404)',
  AGORA_ERR_APP_EXISTS: 'a Marathon app that already exists (HTTP 409)',
  AGORA_ERR_APP_LOCKED: 'a Marathon app locked by a running deployment (HTTP 409)',
  AGORA_ERR_TASK_NOT_FOUND: 'a Marathon task that does not exist (HTTP 404)',
  AGORA_ERR_MISSING_PACKAGE: 'a system package the test harness needs is missing',
  AGORA_ERR_FETCH_FAILED: 'a task URI (CommandInfo.uris) that cannot be fetched, cached or extracted',
  AGORA_ERR_REGISTRY: 'the master registry could not be read, decoded or written (the master gives up leadership)',
  AGORA_ERR_CHECKPOINT: 'an agent checkpoint file that cannot be read or decoded (that task is reported lost)',
  AGORA_ERR_CONFLICT: 'an operator request that conflicts with the current state (HTTP 409)',
  AGORA_ERR_UNPROCESSABLE: 'a well-formed operator request whose content is invalid (HTTP 422)',
  AGORA_ERR_INVALID_VOLUME: 'a persistent volume to create or destroy that is malformed (HTTP 400)',
  AGORA_ERR_VOLUME_EXISTS: 'a persistent volume id already used by the role on that agent (HTTP 409)',
  AGORA_ERR_UNKNOWN_VOLUME: 'a persistent volume that does not exist on the agent (HTTP 409)',
  AGORA_ERR_VOLUME_IN_USE: 'a persistent volume that a task on the agent still uses (HTTP 409)',
  AGORA_ERR_VOLUME_RESERVED: 'an UNRESERVE of disk that carries a persistent volume: destroy it first (HTTP 409)',
  AGORA_ERR_SECRET: 'a secret an app references that cannot be read from the secret store (the task is not launched)',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface AgoraErrorOptions {
  cause?: unknown;
  /** Structured facts about the failure (the flag, the id, the location…). */
  data?: Readonly<Record<string, unknown>>;
}

/**
 * The base of every Agora error: a stable `code`, optional `data` and `cause`.
 * (Not `details`: uvu's reporter expects `details` to be a string and hides the failure otherwise.)
 */
export class AgoraError extends Error {
  override name = 'AgoraError';
  readonly code: ErrorCode;
  readonly data: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: AgoraErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.data = options.data ?? {};
  }

  toJSON(): { code: ErrorCode; message: string; data: Readonly<Record<string, unknown>> } {
    return { code: this.code, message: this.message, data: this.data };
  }
}

/** Whether `err` carries the given Agora error code (works across packages and realms). */
export function hasErrorCode(err: unknown, code: ErrorCode): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/** Wrap anything thrown into an AgoraError, keeping an existing code. */
export function toAgoraError(err: unknown, fallback: ErrorCode = 'AGORA_ERR_INTERNAL'): AgoraError {
  if (err instanceof AgoraError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const known = typeof code === 'string' && code in ERROR_CODES ? (code as ErrorCode) : fallback;
  return new AgoraError(known, err instanceof Error ? err.message : String(err), { cause: err });
}
