/**
 * Settings every SDK client shares. No endpoint or region is set here, so the SDK's own
 * AWS_REGION, AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> handling decides where requests
 * go: the same code runs against AWS, LocalStack, dynalite or any compatible endpoint.
 */
export const common = {
  // The SDK retries throttling and transient errors with backoff; three tries keep a stuck
  // call well inside API Gateway's 30 s.
  maxAttempts: 3,
  // Without timeouts a half-open socket would hold a Lambda until its own timeout.
  requestHandler: { connectionTimeout: 3_000, requestTimeout: 15_000 },
};

/** One client per service per process: a Lambda container reuses it and its connections. */
export function once<T>(create: () => T): () => T {
  let client: T | undefined;
  return () => {
    client ??= create();
    return client;
  };
}
