import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  ConflictError,
  DrawbridgeError,
  ForbiddenError,
  IdempotencyConflictError,
  IllegalTransitionError,
  NotFoundError,
  PayloadTooLargeError,
  PolicyError,
  ProvisioningError,
  QuotaExceededError,
  StaleSessionError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../lib/domain/errors.ts';
import { httpStatus } from '../../lib/http/error-status.ts';

describe('client errors: the API answers with their status and shows their message', () => {
  it.each([
    [new ValidationError('bad'), 'ValidationError', 'invalid_request', 400],
    [new UnauthorizedError('who'), 'UnauthorizedError', 'unauthorized', 401],
    [new ForbiddenError('no'), 'ForbiddenError', 'forbidden', 403],
    [new NotFoundError(), 'NotFoundError', 'not_found', 404],
    [new ConflictError('clash'), 'ConflictError', 'conflict', 409],
    [new IdempotencyConflictError(), 'IdempotencyConflictError', 'idempotency_conflict', 409],
    [new StaleSessionError(), 'StaleSessionError', 'stale_session', 409],
    [new IllegalTransitionError('no'), 'IllegalTransitionError', 'illegal_transition', 409],
    [new PayloadTooLargeError('big'), 'PayloadTooLargeError', 'payload_too_large', 413],
    [new UnsupportedMediaTypeError(), 'UnsupportedMediaTypeError', 'unsupported_media_type', 415],
    [new QuotaExceededError('full'), 'QuotaExceededError', 'quota_exceeded', 429],
  ] as const)('%s → %s %s %d, exposed', (error, name, code, status) => {
    expect(error).toBeInstanceOf(DrawbridgeError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(httpStatus(error)).toBe(status);
    expect(error.expose).toBe(true);
  });

  it('the conflicts are ConflictErrors, so one 409 mapping covers them', () => {
    expect(new IdempotencyConflictError()).toBeInstanceOf(ConflictError);
    expect(new StaleSessionError()).toBeInstanceOf(ConflictError);
    expect(new IllegalTransitionError('x')).toBeInstanceOf(ConflictError);
  });

  it('default messages say what happened', () => {
    expect(new NotFoundError().message).toBe('session not found');
    expect(new IdempotencyConflictError().message).toMatch(/Idempotency-Key/);
    expect(new StaleSessionError().message).toMatch(/retry/);
    expect(new UnsupportedMediaTypeError().message).toMatch(/application\/json/);
  });

  it('keeps the cause', () => {
    const cause = new Error('root');
    expect(new ValidationError('bad', { cause }).cause).toBe(cause);
  });
});

describe('server errors: a 500 that reveals nothing', () => {
  it.each([
    [new DrawbridgeError('boom'), 'DrawbridgeError', 'internal_error'],
    [new ProvisioningError('no capacity'), 'ProvisioningError', 'provisioning_failed'],
    [new PolicyError('targets[0].port: bad'), 'PolicyError', 'invalid_policy'],
    [new ConfigError('TABLE_NAME is missing'), 'ConfigError', 'invalid_config'],
  ] as const)('%s is %s (%s), status 500, not exposed', (error, name, code) => {
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(httpStatus(error)).toBe(500);
    expect(error.expose).toBe(false);
  });

  it('ProvisioningError carries the reason and whether to retry (default: no)', () => {
    const cause = new Error('InsufficientInstanceCapacity');
    const error = new ProvisioningError('no capacity in eu-west-1a', { cause, retryable: true });
    expect(error.reason).toBe('no capacity in eu-west-1a');
    expect(error.retryable).toBe(true);
    expect(error.cause).toBe(cause);
    expect(new ProvisioningError('gone').retryable).toBe(false);
  });
});
