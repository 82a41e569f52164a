/**
 * How each SDK client retries and times out: configured once here, with the SDK's own retry
 * strategies, and nowhere else (no hand-written retry loop on top, which would multiply the
 * attempts). No endpoint or region is set, so the SDK's own AWS_REGION, AWS_ENDPOINT_URL and
 * AWS_ENDPOINT_URL_<SERVICE> handling decides where requests go.
 *
 * The SDK backs off with full jitter: before retry k it sleeps random() × base × 2^k (base
 * 500 ms after throttling, 100 ms otherwise, capped at 20 s). Worst cases below count every
 * attempt timing out, which a healthy endpoint never does.
 */
export const CLIENT_RETRY = {
  // Every function's table: HTTP functions run in 10 s behind API Gateway's 30 s. 3 attempts
  // × 3 s + backoff ≤ 1.5 s.
  dynamodb: { retryMode: 'standard', maxAttempts: 3, requestTimeout: 3_000 },
  // POST /sessions, approve: one SendMessage after the write. 3 × 3 s + 1.5 s.
  sqs: { retryMode: 'standard', maxAttempts: 3, requestTimeout: 3_000 },
  // Alerts and notices; losing one must not hold a request. 3 × 3 s + 1.5 s.
  sns: { retryMode: 'standard', maxAttempts: 3, requestTimeout: 3_000 },
  // provision (60 s), expire/reap (60 s), on-instance-state (30 s). EC2 throttles per account
  // with a token bucket that refills within seconds, so this client tries more often: throttled
  // throughout, 5 attempts back off at most 0.5+1+2+4 = 7.5 s. Not 'adaptive': its client-side
  // limiter drops to 0.5 requests/s after one throttle, which would stretch the half-dozen
  // calls of one launch past the budget.
  ec2: { retryMode: 'standard', maxAttempts: 5, requestTimeout: 10_000 },
  // The ssm target check runs inside POST /sessions (10 s): 3 × 3 s + 1.5 s.
  ssm: { retryMode: 'standard', maxAttempts: 3, requestTimeout: 3_000 },
  // POST /sessions/{id}/credentials (10 s): 3 × 3 s + 1.5 s.
  sts: { retryMode: 'standard', maxAttempts: 3, requestTimeout: 3_000 },
  // provision, expire, end, extend: one schedule call each. 3 × 3 s + 1.5 s.
  scheduler: { retryMode: 'standard', maxAttempts: 3, requestTimeout: 3_000 },
  // GET /sessions/{id}/events reads the bastion's log: 3 × 3 s + 1.5 s.
  logs: { retryMode: 'standard', maxAttempts: 3, requestTimeout: 3_000 },
} as const satisfies Record<
  string,
  { retryMode: 'standard' | 'adaptive'; maxAttempts: number; requestTimeout: number }
>;
export type ClientName = keyof typeof CLIENT_RETRY;

/** The constructor settings of one client. */
export function clientSettings(name: ClientName) {
  const { retryMode, maxAttempts, requestTimeout } = CLIENT_RETRY[name];
  return {
    retryMode,
    maxAttempts,
    // Without timeouts a half-open socket would hold a Lambda until its own timeout.
    requestHandler: { connectionTimeout: 3_000, requestTimeout },
  };
}

/** One client per service per process: a Lambda container reuses it and its connections. */
export function once<T>(create: () => T): () => T {
  let client: T | undefined;
  return () => {
    client ??= create();
    return client;
  };
}
