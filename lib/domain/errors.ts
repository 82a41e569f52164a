/**
 * Every error Drawbridge raises on purpose: a stable `code` and whether its message is safe to
 * show the caller. Which HTTP status each code answers with is lib/http's business
 * (lib/http/error-status.ts); anything else becomes a generic 500 that reveals nothing.
 */
export class DrawbridgeError extends Error {
  readonly code: string = 'internal_error';
  readonly expose: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DrawbridgeError';
  }
}

/** A 4xx: the message is safe to show to the caller and says what to fix. */
abstract class ClientError extends DrawbridgeError {
  override readonly expose = true;
}

export class ValidationError extends ClientError {
  override readonly code = 'invalid_request';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ValidationError';
  }
}

export class UnauthorizedError extends ClientError {
  override readonly code = 'unauthorized';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnauthorizedError';
  }
}

export class ForbiddenError extends ClientError {
  override readonly code = 'forbidden';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ForbiddenError';
  }
}

export class NotFoundError extends ClientError {
  override readonly code = 'not_found';
  constructor(message = 'session not found', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends ClientError {
  override readonly code: string = 'conflict';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConflictError';
  }
}

/** Same Idempotency-Key, different body. */
export class IdempotencyConflictError extends ConflictError {
  override readonly code = 'idempotency_conflict';
  constructor(message = 'this Idempotency-Key was already used with a different request body') {
    super(message);
    this.name = 'IdempotencyConflictError';
  }
}

/** The session changed under us (status or version no longer what we read). */
export class StaleSessionError extends ConflictError {
  override readonly code = 'stale_session';
  constructor(message = 'the session changed while this request was being handled; retry') {
    super(message);
    this.name = 'StaleSessionError';
  }
}

/** The lifecycle forbids this event in the session's current state. */
export class IllegalTransitionError extends ConflictError {
  override readonly code = 'illegal_transition';
  constructor(message: string) {
    super(message);
    this.name = 'IllegalTransitionError';
  }
}

export class QuotaExceededError extends ClientError {
  override readonly code = 'quota_exceeded';
  constructor(message: string) {
    super(message);
    this.name = 'QuotaExceededError';
  }
}

export class PayloadTooLargeError extends ClientError {
  override readonly code = 'payload_too_large';
  constructor(message: string) {
    super(message);
    this.name = 'PayloadTooLargeError';
  }
}

export class UnsupportedMediaTypeError extends ClientError {
  override readonly code = 'unsupported_media_type';
  constructor(message = 'send the body as application/json') {
    super(message);
    this.name = 'UnsupportedMediaTypeError';
  }
}

/**
 * A provider could not give the session a bastion (no capacity, throttled past the retry
 * budget, a resource vanished). `reason` is recorded on the FAILED session for the owner.
 */
export class ProvisioningError extends DrawbridgeError {
  override readonly code = 'provisioning_failed';
  readonly reason: string;
  readonly retryable: boolean;
  constructor(reason: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(reason, options);
    this.name = 'ProvisioningError';
    this.reason = reason;
    this.retryable = options?.retryable ?? false;
  }
}

/**
 * STS would not issue an ssm session's credentials. A 502 whose message is shown: it names the
 * STS error code and nothing else. `permanent` when asking again cannot help (access denied,
 * a policy STS refuses); otherwise (throttled, STS unavailable) the caller may retry.
 */
export class GrantError extends DrawbridgeError {
  override readonly code = 'grant_failed';
  override readonly expose = true;
  readonly permanent: boolean;
  constructor(message: string, options: { cause?: unknown; permanent: boolean }) {
    super(message, options);
    this.name = 'GrantError';
    this.permanent = options.permanent;
  }
}

/** The policy file is invalid; the message names the field. */
export class PolicyError extends DrawbridgeError {
  override readonly code = 'invalid_policy';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PolicyError';
  }
}

/** A required setting is missing or malformed; the message names the variable. */
export class ConfigError extends DrawbridgeError {
  override readonly code = 'invalid_config';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Reading an item we did not write the way we write it: a bug or tampering, never a 4xx. */
export class CorruptItemError extends DrawbridgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CorruptItemError';
  }
}

/** DynamoDB failed in a way the caller cannot fix (throttled, unreachable, misconfigured). */
export class SessionStoreError extends DrawbridgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SessionStoreError';
  }
}

/** A 400: the caller sent a cursor this listing did not hand out. */
export class InvalidCursorError extends ValidationError {
  constructor() {
    super('invalid cursor: pass back the cursor of the previous page unchanged, or none');
    this.name = 'InvalidCursorError';
  }
}

/** 503: the request was valid but could not be started; nothing was left behind. */
export class ProvisioningUnavailableError extends DrawbridgeError {
  override readonly code = 'unavailable';
  override readonly expose = true;
  constructor(options?: { cause?: unknown }) {
    super('Drawbridge could not start provisioning right now; retry in a moment', options);
    this.name = 'ProvisioningUnavailableError';
  }
}

export class UnknownInstanceError extends Error {
  constructor(instanceId: string) {
    super(`no session records instance ${instanceId} yet`);
    this.name = 'UnknownInstanceError';
  }
}

export class UnrecordedBastionError extends Error {
  constructor(sessionId: string) {
    super(`session ${sessionId} has not recorded its bastion yet`);
    this.name = 'UnrecordedBastionError';
  }
}

/** A value that cannot go into an ssh_config line as it is (lib/domain/ssh-config.ts). */
export class SshConfigValueError extends Error {
  constructor(what: string) {
    super(`ssh config: ${what}`);
    this.name = 'SshConfigValueError';
  }
}
