/**
 * One table from error codes to Marathon's HTTP answers (`MarathonExceptionMapper`):
 *
 * | code                        | status | body                                                        |
 * |-----------------------------|--------|-------------------------------------------------------------|
 * | AGORA_ERR_INVALID_JSON      | 400    | `{"message":"Invalid JSON","details":"<parser message>"}`   |
 * | AGORA_ERR_APP_INVALID       | 422    | `{"message":"Object is not valid"|"Invalid JSON","details":[{path,errors}]}` |
 * | AGORA_ERR_APP_NOT_FOUND     | 404    | `{"message":"App '/x' does not exist"}`                     |
 * | AGORA_ERR_TASK_NOT_FOUND    | 404    | `{"message":"Task 'x' does not exist"}`                     |
 * | AGORA_ERR_APP_EXISTS        | 409    | `{"message":"An app with id [/x] already exists."}`         |
 * | AGORA_ERR_APP_LOCKED        | 409    | `{"message":"App is locked …","deployments":[{"id"}]}`      |
 * | AGORA_ERR_BAD_REQUEST       | 400    | `{"message":…}` (or `data.status`, e.g. 413)             |
 * | AGORA_ERR_STORAGE           | 503    | `{"message":"state store failed to …"}`                     |
 * | AGORA_ERR_TIMEOUT           | 503    | `{"message":…}`                                             |
 * | anything else               | 500    | `{"message":…}`                                             |
 */
import { type ErrorCode, toAgoraError } from '@agora/common';

export interface HttpAnswer {
  status: number;
  body: Record<string, unknown>;
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  AGORA_ERR_INVALID_JSON: 400,
  AGORA_ERR_BAD_REQUEST: 400,
  AGORA_ERR_APP_INVALID: 422,
  AGORA_ERR_APP_NOT_FOUND: 404,
  AGORA_ERR_TASK_NOT_FOUND: 404,
  AGORA_ERR_APP_EXISTS: 409,
  AGORA_ERR_APP_LOCKED: 409,
  AGORA_ERR_STORAGE: 503,
  AGORA_ERR_TIMEOUT: 503,
};

/** The HTTP answer for anything thrown by a handler. */
export function httpAnswerFor(err: unknown): HttpAnswer {
  const e = toAgoraError(err);
  const details = e.data;
  switch (e.code) {
    case 'AGORA_ERR_INVALID_JSON':
      return { status: 400, body: { message: 'Invalid JSON', details: String(details['parserMessage'] ?? e.message) } };
    case 'AGORA_ERR_APP_INVALID':
      return { status: 422, body: { message: e.message, details: details['violations'] ?? [] } };
    case 'AGORA_ERR_APP_LOCKED': {
      const ids = Array.isArray(details['deployments']) ? (details['deployments'] as string[]) : [];
      return { status: 409, body: { message: e.message, deployments: ids.map((id) => ({ id })) } };
    }
    default: {
      const explicit = typeof details['status'] === 'number' ? details['status'] : undefined;
      return { status: explicit ?? STATUS[e.code] ?? 500, body: { message: e.message } };
    }
  }
}
