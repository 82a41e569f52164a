/**
 * Exit codes are part of the command's interface: scripts branch on them, so each one has a
 * single meaning and `drawbridge --help` lists them.
 */
export const ExitCode = {
  ok: 0,
  /** unexpected, network, or a 5xx from the API */
  unexpected: 1,
  /** a usage error, the CLI's or the API's (a 400: the request itself was wrong) */
  usage: 2,
  /** not signed in, token refused (401), or not allowed (403) */
  auth: 3,
  notFound: 4,
  /** refused by policy or quota (409, 429 from the API) */
  refused: 5,
  sessionFailed: 6,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports as one line on stderr and turns into an exit code. */
export class CliError extends Error {
  readonly exitCode: number;
  /** the `code` of the `{ "error": { code, message } }` printed with --json */
  readonly code: string;

  constructor(message: string, exitCode: number, code: string) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.code = code;
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.usage, 'usage');
    this.name = 'UsageError';
  }
}

export class NotSignedInError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.auth, 'not_signed_in');
    this.name = 'NotSignedInError';
  }
}

/** The API answered with an error body (or with something that is not one). */
export class ApiError extends CliError {
  readonly status: number;

  constructor(status: number, code: string, message: string) {
    super(message, exitCodeForStatus(status), code);
    this.name = 'ApiError';
    this.status = status;
  }
}

/** The API could not be reached at all: nothing was answered, so the message says where we tried. */
export class NetworkError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.unexpected, 'network');
    this.name = 'NetworkError';
  }
}

export function exitCodeForStatus(status: number): number {
  if (status === 401 || status === 403) return ExitCode.auth;
  if (status === 404) return ExitCode.notFound;
  if (status === 400) return ExitCode.usage;
  if (status === 409 || status === 429) return ExitCode.refused;
  return ExitCode.unexpected;
}

export class NotFoundError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.notFound, 'not_found');
    this.name = 'NotFoundError';
  }
}
