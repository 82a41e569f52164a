import type { DrawbridgeError } from '../domain/errors.ts';

/** The HTTP status of each error code the API shows its caller. */
export const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  idempotency_conflict: 409,
  stale_session: 409,
  illegal_transition: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  quota_exceeded: 429,
  grant_failed: 502,
  unavailable: 503,
};

/**
 * An exposed error's status; an exposed code without one is a programming error, answered
 * as a 500 rather than guessed as a 4xx.
 */
export function httpStatus(error: DrawbridgeError): number {
  return error.expose ? (STATUS_BY_CODE[error.code] ?? 500) : 500;
}
