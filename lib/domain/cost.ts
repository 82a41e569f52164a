import * as z from 'zod/mini';

/**
 * Estimated cost, in US dollars, of what Drawbridge runs. The prices are public on-demand list
 * prices (us-east-1, Linux, late 2025) and only a default: a policy's optional `pricing:` block
 * replaces any part of it with the prices of its own region or contract. The figures are
 * estimates for FinOps, not a bill: Cost Explorer, filtered on the `drawbridge:stage` tag, is
 * the bill.
 */

export const DEFAULT_INSTANCE_HOURLY: Readonly<Record<string, number>> = {
  't4g.nano': 0.0042,
  't4g.micro': 0.0084,
  't4g.small': 0.0168,
  't4g.medium': 0.0336,
  't4g.large': 0.0672,
  'm7g.medium': 0.0408,
  'm7g.large': 0.0816,
  'c7g.medium': 0.0363,
  'c7g.large': 0.0725,
};

// Built on first use (a policy's validation, the usage report), not when a function's module
// loads: constructing and first running zod schemas is the bulk of a function's own init.
function buildPricingSchema() {
  const price = z.number().check(z.nonnegative());
  const count = z.number().check(z.nonnegative());

  const LambdaPricingSchema = z.strictObject({
    perMillionRequests: z._default(price, 0.2),
    /** arm64 */
    perGbSecond: z._default(price, 0.0000133334),
    /** request, provision, state changes, a few status polls, expire: one session's invocations */
    invocationsPerSession: z._default(count, 8),
    averageDurationMs: z._default(count, 200),
    memoryMb: z._default(count, 256),
    /** the reaper runs every minute whether or not there are sessions: the idle baseline */
    reaperInvocationsPerDay: z._default(count, 1440),
    reaperAverageDurationMs: z._default(count, 300),
  });

  const DynamoDbPricingSchema = z.strictObject({
    perMillionWriteUnits: z._default(price, 0.625),
    perMillionReadUnits: z._default(price, 0.125),
    /**
     * Every audit event is one transaction: the session and the event item at 2 WRU each
     * (transactional writes cost double), plus the session's index entries.
     */
    writeUnitsPerEvent: z._default(count, 10),
    /** the consistent read before each change, and the status polls */
    readUnitsPerEvent: z._default(count, 4),
  });

  const PricingSchema = z.strictObject({
    currency: z._default(z.literal('USD'), 'USD'),
    /** on-demand price per hour by instance type; billed per second with a 60 s minimum */
    instanceHourly: z._default(
      z.record(
        z.string().check(z.regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'an instance type like t4g.nano')),
        price,
      ),
      { ...DEFAULT_INSTANCE_HOURLY },
    ),
    /** every ec2 bastion has one public IPv4 address while it runs */
    publicIpv4Hourly: z._default(price, 0.005),
    lambda: z._default(LambdaPricingSchema, LambdaPricingSchema.parse({})),
    dynamodb: z._default(DynamoDbPricingSchema, DynamoDbPricingSchema.parse({})),
  });
  return PricingSchema;
}
let pricingSchema: ReturnType<typeof buildPricingSchema> | undefined;
export const PricingSchema = z.lazy(() => {
  pricingSchema ??= buildPricingSchema();
  return pricingSchema;
});
export type Pricing = z.infer<typeof PricingSchema>;

let cachedDefault: Pricing | undefined;
/** Every price at its default: the usage report's prices when the policy names none. */
export const defaultPricing = (): Pricing => {
  cachedDefault ??= PricingSchema.parse({});
  return cachedDefault;
};

export const SECOND_MS = 1_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** EC2 Linux on-demand: per-second billing, but never less than a minute per run. */
export const MINIMUM_BILLED_MS = 60_000;

/** A half-open interval [start, end) of epoch milliseconds. */
export interface Interval {
  start: number;
  end: number;
}

export function overlapMs(a: Interval, b: Interval): number {
  return Math.max(0, Math.min(a.end, b.end) - Math.max(a.start, b.start));
}

/**
 * The stretch of time an instance that ran over `run` is billed for: whole seconds, at least
 * sixty of them, counted from its start. Putting the minimum at the start (rather than
 * spreading it) means adjacent report windows add up to exactly the instance's bill.
 */
export function billedInterval(run: Interval): Interval {
  const seconds = Math.max(
    MINIMUM_BILLED_MS / SECOND_MS,
    Math.ceil(Math.max(0, run.end - run.start) / SECOND_MS),
  );
  return { start: run.start, end: run.start + seconds * SECOND_MS };
}

/** Seconds of `run` that fall inside `window` (what was used). */
export function usedSecondsIn(run: Interval, window: Interval): number {
  return overlapMs(run, window) / SECOND_MS;
}

/** Seconds of `run`'s bill that fall inside `window` (what is paid for). */
export function billedSecondsIn(run: Interval, window: Interval): number {
  return overlapMs(billedInterval(run), window) / SECOND_MS;
}

export interface BastionCost {
  instance: number;
  publicIpv4: number;
}

/**
 * What `billedSeconds` of one ec2 bastion cost. Undefined instance price means the type is not
 * in the table: the caller reports it rather than guessing.
 */
export function bastionCost(
  billedSeconds: number,
  instanceType: string | undefined,
  pricing: Pricing,
): BastionCost & { priced: boolean } {
  const hourly = instanceType === undefined ? undefined : pricing.instanceHourly[instanceType];
  return {
    instance: hourly === undefined ? 0 : (billedSeconds * hourly) / 3_600,
    publicIpv4: (billedSeconds * pricing.publicIpv4Hourly) / 3_600,
    priced: hourly !== undefined,
  };
}

export interface ControlPlaneCost {
  lambda: number;
  dynamodb: number;
}

/** Lambda and DynamoDB for `sessions` sessions that wrote `events` audit events in all. */
export function controlPlaneCost(
  sessions: number,
  events: number,
  pricing: Pricing,
): ControlPlaneCost {
  const { lambda, dynamodb } = pricing;
  const invocations = sessions * lambda.invocationsPerSession;
  const gbSeconds = (invocations * (lambda.averageDurationMs / 1_000) * lambda.memoryMb) / 1_024;
  return {
    lambda: (invocations * lambda.perMillionRequests) / 1_000_000 + gbSeconds * lambda.perGbSecond,
    dynamodb:
      (events * dynamodb.writeUnitsPerEvent * dynamodb.perMillionWriteUnits) / 1_000_000 +
      (events * dynamodb.readUnitsPerEvent * dynamodb.perMillionReadUnits) / 1_000_000,
  };
}

/** What Drawbridge costs with no session at all over `ms`: the reaper's invocations. */
export function idleBaselineCost(ms: number, pricing: Pricing): number {
  const { lambda } = pricing;
  const invocations = (Math.max(0, ms) / DAY_MS) * lambda.reaperInvocationsPerDay;
  const gbSeconds =
    (invocations * (lambda.reaperAverageDurationMs / 1_000) * lambda.memoryMb) / 1_024;
  return (invocations * lambda.perMillionRequests) / 1_000_000 + gbSeconds * lambda.perGbSecond;
}

/** Money in reports: to the micro-dollar, so sums stay readable and stable. */
export const roundMoney = (usd: number): number => Math.round(usd * 1_000_000) / 1_000_000;
