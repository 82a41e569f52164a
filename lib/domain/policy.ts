import * as z from 'zod/mini';
import { PricingSchema } from './cost.ts';
import { ForbiddenError, PolicyError, ValidationError } from './errors.ts';
import { cidrContains, ipVersion, parseCidr } from './network.ts';
import { type Identity, MODES, type Mode, NOTIFY_EVENTS } from './session.ts';
import { bannerProblem, DEFAULT_BANNER } from './sshd-hardening.ts';
import { describeIssues, safeParse } from './validation.ts';

export const ACCESS = ['jump-only', 'shell'] as const;
export type Access = (typeof ACCESS)[number];

/**
 * What a target's sessions leave behind: `full` records the terminal (a shell on the bastion
 * under the forced recorder, never a tunnel), `metadata` only connections and forwards (the
 * sshd log), `off` nothing beyond the audit trail.
 */
export const RECORDING = ['full', 'metadata', 'off'] as const;
export type Recording = (typeof RECORDING)[number];
/** the modes whose bastion runs the recorder (an ssm session's output is Session Manager's) */
export const RECORDED_MODES: readonly Mode[] = ['ec2', 'local'];

/** What an ssm target may start: a shell, `ssh` over Session Manager, a port forward to the target. */
export const SSM_DOCUMENTS = ['shell', 'ssh', 'port-forwarding'] as const;
export type SsmDocument = (typeof SSM_DOCUMENTS)[number];

export const MAX_WINDOW_MINUTES = 24 * 60;
export const MAX_PROVISIONING_DEADLINE_MINUTES = 30;
export const MAX_SELF_DESTRUCT_GRACE_MINUTES = 60;
/**
 * The longest self-destruct any valid policy can ask for: the key's bound (deadline plus the
 * longest window) plus the grace, rounded up. The bastion's user data accepts exactly this.
 */
export const MAX_SELF_DESTRUCT_MINUTES =
  MAX_PROVISIONING_DEADLINE_MINUTES + MAX_WINDOW_MINUTES + MAX_SELF_DESTRUCT_GRACE_MINUTES + 1;

// EC2 and Systems Manager tag keys and values (the set both accept); aws: is reserved.
const SSM_TAG_KEY = /^(?!aws:)[\p{L}\p{Z}\p{N}_.:/=+@-]{1,128}$/iu;

/** EC2 Instance Connect caps one endpoint at 20 concurrent connections. */
export const EICE_ENDPOINT_CONNECTIONS = 20;
/** Linux user names (useradd's default rule), as SendSSHPublicKey's InstanceOSUser takes them. */
const OS_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

// zod builds an object per field, method and refinement: the policy's schemas cost tens of
// milliseconds of CPU to construct, so they are built on the first validation (in the
// composition, at a function's first use of the policy), not when a function's module loads.
function buildSchemas() {
  const group = z
    .string()
    .check(z.regex(/^[A-Za-z0-9._:@/+=-]{1,128}$/, 'a group name (letters, digits and ._:@/+=-)'));
  const hostname = z.string().check(
    z.maxLength(253),
    z.refine(
      (value) =>
        ipVersion(value) !== 0 ||
        /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(
          value,
        ),
      'an IP address or DNS name',
    ),
  );
  /** The legal notice sshd shows before login (lib/domain/sshd-hardening.ts: bannerProblem). */
  const banner = z.string().check(
    z.superRefine((text, ctx) => {
      const problem = bannerProblem(text);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  );

  const cidr = z.string().check(
    z.refine((value) => {
      try {
        parseCidr(value);
        return true;
      } catch {
        return false;
      }
    }, 'a CIDR block like 203.0.113.0/24'),
  );

  const minutes = z.int().check(z.minimum(1), z.maximum(MAX_WINDOW_MINUTES));
  const targetName = z
    .string()
    .check(z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes'));
  /** The token must show a second factor, used at most this long ago (lib/domain/mfa.ts). */
  const freshMfa = z.strictObject({ maxAgeMinutes: minutes });
  const notifyOn = z
    .array(z.enum(NOTIFY_EVENTS))
    .check(z.refine((events) => new Set(events).size === events.length, 'lists an event twice'));

  const ssmTagValue = z
    .string()
    .check(
      z.regex(
        /^[\p{L}\p{Z}\p{N}_.:/=+@-]{0,256}$/u,
        'a tag value (letters, digits, spaces and _.:/=+-@)',
      ),
    );
  const instanceTags = z.record(z.string(), ssmTagValue).check(
    z.refine(
      (tags) => Object.keys(tags).every((key) => SSM_TAG_KEY.test(key)),
      'tag keys are letters, digits, spaces and _.:/=+-@, and must not start with aws:',
    ),
    z.refine((tags) => Object.keys(tags).length >= 1, 'names at least one tag'),
    z.refine((tags) => Object.keys(tags).length <= 10, 'names at most 10 tags'),
  );

  /**
   * The ssm block of a target: which managed instance Session Manager connects to — one named by
   * id, one found by its tags when a session is requested, or a fresh bastion launched like ec2's
   * but with no inbound rule — and which Session Manager documents the grant allows.
   */
  const SsmTargetSchema = z
    .strictObject({
      instanceId: z.optional(
        z
          .string()
          .check(
            z.regex(
              /^(?:i-[0-9a-f]{8,17}|mi-[0-9a-f]{17})$/,
              'an instance id like i-0abc… or a managed instance id like mi-0abc…',
            ),
          ),
      ),
      instanceTags: z.optional(instanceTags),
      fresh: z.optional(z.literal(true)),
      // Least privilege by default, like access: jump-only for ec2.
      documents: z._default(
        z.array(z.enum(SSM_DOCUMENTS)).check(
          z.minLength(1),
          z.refine(
            (documents) => new Set(documents).size === documents.length,
            'lists a document twice',
          ),
        ),
        ['port-forwarding'],
      ),
    })
    .check(
      z.superRefine((ssm, ctx) => {
        const named = [ssm.instanceId, ssm.instanceTags, ssm.fresh].filter((v) => v !== undefined);
        if (named.length !== 1) {
          ctx.addIssue({
            code: 'custom',
            path: [],
            message: 'must name exactly one of instanceId, instanceTags or fresh: true',
          });
        }
      }),
    );

  /**
   * The eice block of a target: the existing instance the endpoint tunnels to (by id, or by tags
   * that must match exactly one running instance), the endpoint (by id, or the one in the
   * instance's VPC), and for SSH (port 22) the OS user the session's key is pushed for with
   * SendSSHPublicKey. The remote port is the target's `port`.
   */
  const EiceTargetSchema = z
    .strictObject({
      instanceId: z.optional(
        z.string().check(z.regex(/^i-[0-9a-f]{8,17}$/, 'an instance id like i-0abc…')),
      ),
      instanceTags: z.optional(instanceTags),
      endpointId: z.optional(
        z.string().check(z.regex(/^eice-[0-9a-f]{8,17}$/, 'an endpoint id like eice-0abc…')),
      ),
      osUser: z.optional(z.string().check(z.regex(OS_USER, 'a Linux user name like ec2-user'))),
      /**
       * Push the session's key with SendSSHPublicKey (EC2 Instance Connect on the instance); false
       * when the instance authorizes keys some other way and only the tunnel is granted.
       */
      sendSshPublicKey: z._default(z.boolean(), true),
    })
    .check(
      z.superRefine((eice, ctx) => {
        if ((eice.instanceId === undefined) === (eice.instanceTags === undefined)) {
          ctx.addIssue({
            code: 'custom',
            path: [],
            message: 'must name exactly one of instanceId or instanceTags',
          });
        }
      }),
    );

  const awsId = (pattern: RegExp, message: string) => z.string().check(z.regex(pattern, message));

  const TargetSchema = z
    .strictObject({
      name: z
        .string()
        .check(z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes')),
      description: z.optional(z.string().check(z.maxLength(200))),
      mode: z.enum(MODES),
      host: hostname,
      port: z.int().check(z.minimum(1), z.maximum(65535)),
      allowedGroups: z.array(group).check(z.minLength(1)),
      allowedSourceCidrs: z.optional(z.array(cidr).check(z.minLength(1))),
      defaultDurationMinutes: minutes,
      maxDurationMinutes: minutes,
      access: z._default(z.enum(ACCESS), 'jump-only'),
      /** this target's own pre-login banner; the policy's `banner` otherwise */
      banner: z.optional(banner),
      network: z.optional(
        z.strictObject({
          vpcId: awsId(/^vpc-[0-9a-f]{8,17}$/, 'a VPC id like vpc-0abc…'),
          subnetIds: z
            .array(awsId(/^subnet-[0-9a-f]{8,17}$/, 'a subnet id like subnet-0abc…'))
            .check(z.minLength(1)),
          /**
           * Where the bastion may open HTTPS (443) to ship its logs: the security group of this
           * VPC's CloudWatch Logs interface endpoint, and/or managed prefix lists (e.g. the S3
           * gateway endpoint's, for the package repositories). Absent: no 443 at all, never the
           * internet (README: "Deploying", log shipping prerequisite).
           */
          logShipping: z.optional(
            z.strictObject({
              securityGroupIds: z.optional(
                z
                  .array(awsId(/^sg-[0-9a-f]{8,17}$/, 'a security group id like sg-0abc…'))
                  .check(z.minLength(1)),
              ),
              prefixListIds: z.optional(
                z
                  .array(awsId(/^pl-[0-9a-f]{8,17}$/, 'a prefix list id like pl-0abc…'))
                  .check(z.minLength(1)),
              ),
            }),
          ),
        }),
      ),
      instanceTypes: z._default(
        z
          .array(
            z.string().check(
              z.regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'an instance type like t4g.nano'),
              // The launch template's AMI is AL2023 arm64: an x86 type would fail at RunInstances.
              z.regex(
                /^[a-z]+\d+[a-z]*g[a-z-]*\./,
                'a Graviton (arm64) instance type like t4g.nano or m7g.medium',
              ),
            ),
          )
          .check(z.minLength(1)),
        ['t4g.nano'],
      ),
      /** mode ssm only: the instance Session Manager connects to and the documents allowed */
      ssm: z.optional(SsmTargetSchema),
      /** mode eice only: the instance and endpoint the tunnel grant is for */
      eice: z.optional(EiceTargetSchema),
      /** requests wait in PENDING_APPROVAL until a member of these groups (not the requester) approves */
      approval: z.optional(
        z.strictObject({
          approverGroups: z.array(group).check(z.minLength(1)),
          timeoutMinutes: minutes,
        }),
      ),
      requireMfa: z.optional(freshMfa),
      notify: z.optional(notifyOn),
      /**
       * How far beyond the requested duration the key's expiry-time (layer 1) is written at
       * launch, so that the session can be extended by up to this much; 0 allows no extension
       * on a bastion whose key cannot be rewritten (ec2). See lib/domain/extension.ts.
       */
      extensionHeadroomMinutes: z._default(z.int().check(z.minimum(0), z.maximum(24 * 60)), 0),
      recording: z._default(z.enum(RECORDING), 'metadata'),
      /** keystrokes too (never those typed while the terminal's echo is off); recording full only */
      recordInput: z._default(z.boolean(), false),
      /** no terminal activity this long closes the connection; recording full only */
      idleTimeoutMinutes: z.optional(z.int().check(z.minimum(1), z.maximum(MAX_WINDOW_MINUTES))),
      /** whether an idle close also ends the session (it does unless this says false) */
      idleEndsSession: z._default(z.boolean(), true),
    })
    .check(
      z.superRefine((target, ctx) => {
        if (target.recording === 'full') {
          if (!RECORDED_MODES.includes(target.mode)) {
            ctx.addIssue({
              code: 'custom',
              path: ['recording'],
              message: `full is for modes ${RECORDED_MODES.join(' and ')} (their bastion runs the recorder)`,
            });
          }
          if (target.access !== 'shell') {
            ctx.addIssue({
              code: 'custom',
              path: ['access'],
              message:
                'must be shell when recording is full: a recorded session is a shell, never a tunnel',
            });
          }
        } else {
          for (const field of ['recordInput', 'idleTimeoutMinutes'] as const) {
            if (target[field] !== undefined && target[field] !== false) {
              ctx.addIssue({
                code: 'custom',
                path: [field],
                message: 'needs recording: full (only the recorder sees the terminal)',
              });
            }
          }
        }
        if (target.defaultDurationMinutes > target.maxDurationMinutes) {
          ctx.addIssue({
            code: 'custom',
            path: ['defaultDurationMinutes'],
            message: 'must not exceed maxDurationMinutes',
          });
        }
        if (target.mode === 'ec2') {
          if (!target.network) {
            ctx.addIssue({
              code: 'custom',
              path: ['network'],
              message: 'is required for mode ec2',
            });
          }
          if (ipVersion(target.host) === 0) {
            ctx.addIssue({
              code: 'custom',
              path: ['host'],
              message:
                'must be an IP address for mode ec2 (the bastion security group allows egress to it only)',
            });
          }
        }
        if (target.mode !== 'eice') {
          if (target.eice) {
            ctx.addIssue({ code: 'custom', path: ['eice'], message: 'is only for mode eice' });
          }
        } else if (!target.eice) {
          ctx.addIssue({
            code: 'custom',
            path: ['eice'],
            message: 'is required for mode eice (instanceId or instanceTags)',
          });
        } else {
          if (target.network) {
            ctx.addIssue({
              code: 'custom',
              path: ['network'],
              message: 'is not for mode eice: the endpoint tunnels to the instance where it is',
            });
          }
          if (target.port === 22 && !target.eice.osUser) {
            ctx.addIssue({
              code: 'custom',
              path: ['eice', 'osUser'],
              message: 'is required for an SSH target (port 22): the user ssh logs in as',
            });
          }
          if (target.port !== 22 && target.eice.osUser) {
            ctx.addIssue({
              code: 'custom',
              path: ['eice', 'osUser'],
              message: 'is only for an SSH target (port 22)',
            });
          }
          if (target.access === 'shell') {
            ctx.addIssue({
              code: 'custom',
              path: ['access'],
              message: 'is jump-only for mode eice: the tunnel is all the grant allows',
            });
          }
        }
        if (target.mode !== 'ssm') {
          if (target.ssm) {
            ctx.addIssue({ code: 'custom', path: ['ssm'], message: 'is only for mode ssm' });
          }
        } else if (!target.ssm) {
          ctx.addIssue({
            code: 'custom',
            path: ['ssm'],
            message: 'is required for mode ssm (instanceId, instanceTags or fresh: true)',
          });
        } else if (target.ssm.fresh) {
          // A fresh ssm bastion is launched like ec2's, with egress to the target only.
          if (!target.network) {
            ctx.addIssue({
              code: 'custom',
              path: ['network'],
              message: 'is required for a fresh ssm bastion',
            });
          }
          if (ipVersion(target.host) === 0) {
            ctx.addIssue({
              code: 'custom',
              path: ['host'],
              message:
                'must be an IP address for a fresh ssm bastion (its security group allows egress to it only)',
            });
          }
        } else if (target.network) {
          ctx.addIssue({
            code: 'custom',
            path: ['network'],
            message:
              'is only for a fresh bastion: an existing managed instance is used where it is',
          });
        }
      }),
    );

  const PolicySchema = z
    .strictObject({
      version: z.literal(1),
      adminGroup: group,
      /** may read GET /usage, like the admins (FinOps, security) */
      finopsGroup: z.optional(group),
      /** prices for the usage report's estimates; defaults in lib/domain/cost.ts */
      pricing: z.optional(PricingSchema),
      quota: z.strictObject({
        activeSessionsPerUser: z.int().check(z.minimum(1), z.maximum(100)),
      }),
      provisioningDeadlineMinutes: z._default(
        z.int().check(z.minimum(1), z.maximum(MAX_PROVISIONING_DEADLINE_MINUTES)),
        10,
      ),
      selfDestructGraceMinutes: z._default(
        z.int().check(z.minimum(1), z.maximum(MAX_SELF_DESTRUCT_GRACE_MINUTES)),
        5,
      ),
      retentionDays: z._default(z.int().check(z.minimum(1), z.maximum(3650)), 90),
      /** may replay and export any session's recording, like the admins */
      auditorGroups: z.optional(z.array(group).check(z.minLength(1))),
      /**
       * Live eice sessions allowed per EC2 Instance Connect Endpoint, counted in the same
       * transaction as the session; at most the endpoint's own limit of 20 connections.
       */
      eiceSessionsPerEndpoint: z._default(
        z.int().check(z.minimum(1), z.maximum(EICE_ENDPOINT_CONNECTIONS)),
        EICE_ENDPOINT_CONNECTIONS,
      ),
      /** the pre-login legal notice of every bastion (CIS), unless a target sets its own */
      banner: z._default(banner, DEFAULT_BANNER),
      targets: z.array(TargetSchema).check(z.minLength(1)),
      /** on-call access with no approval wait, its own quota and maximum (lib/domain/break-glass.ts) */
      breakGlass: z.optional(
        z.strictObject({
          groups: z.array(group).check(z.minLength(1)),
          maxDurationMinutes: minutes,
          /** live break-glass sessions per person, counted apart from the normal quota */
          quota: z.int().check(z.minimum(1), z.maximum(10)),
          /** the targets break-glass may open; all of them when absent */
          targets: z.optional(z.array(targetName).check(z.minLength(1))),
          requireMfa: z.optional(freshMfa),
          /** besides the alert at request, which always goes */
          notify: z._default(notifyOn, ['granted', 'ended']),
        }),
      ),
    })
    .check(
      z.superRefine((policy, ctx) => {
        const seen = new Set<string>();
        policy.targets.forEach((target, index) => {
          if (seen.has(target.name)) {
            ctx.addIssue({
              code: 'custom',
              path: ['targets', index, 'name'],
              message: `duplicate target '${target.name}'`,
            });
          }
          seen.add(target.name);
        });
        policy.breakGlass?.targets?.forEach((name, index) => {
          if (!seen.has(name)) {
            ctx.addIssue({
              code: 'custom',
              path: ['breakGlass', 'targets', index],
              message: `unknown target '${name}'`,
            });
          }
        });
      }),
    );

  return { SsmTargetSchema, EiceTargetSchema, TargetSchema, PolicySchema };
}
let built: ReturnType<typeof buildSchemas> | undefined;
const schemas = () => {
  built ??= buildSchemas();
  return built;
};

export const SsmTargetSchema = z.lazy(() => schemas().SsmTargetSchema);
export type SsmTarget = z.infer<typeof SsmTargetSchema>;
export const EiceTargetSchema = z.lazy(() => schemas().EiceTargetSchema);
export type EiceTarget = z.infer<typeof EiceTargetSchema>;
export const TargetSchema = z.lazy(() => schemas().TargetSchema);
export type Target = z.infer<typeof TargetSchema>;
export const PolicySchema = z.lazy(() => schemas().PolicySchema);
export type Policy = z.infer<typeof PolicySchema>;

/** Validates a policy document (already parsed). Throws PolicyError naming the field. */
export function validatePolicy(document: unknown, source = 'policy'): Policy {
  const result = safeParse(PolicySchema, document);
  if (!result.success)
    throw new PolicyError(`${source} is invalid: ${describeIssues(result.error)}`);
  const policy = result.data;
  // Every target carries the banner its bastion shows, so providers need only the target.
  for (const target of policy.targets) target.banner ??= policy.banner;
  return policy;
}

/** The banner a target's bastion shows: its own, else the policy's (filled in by validatePolicy). */
export const bannerOf = (target: Target): string => target.banner ?? DEFAULT_BANNER;

/**
 * Reads the policy the package step wrote as JSON (serverless/validate-policy.cjs) and validates
 * it again: a function never trusts a file it did not check, and never loads a YAML parser.
 */
export function parsePolicyJson(jsonText: string, source = 'policy'): Policy {
  let document: unknown;
  try {
    document = JSON.parse(jsonText);
  } catch (error) {
    throw new PolicyError(`${source} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return validatePolicy(document, source);
}

export function findTarget(policy: Policy, name: string): Target | undefined {
  return policy.targets.find((target) => target.name === name);
}

/** The targets this caller's groups may open (GET /targets, and the unknown-target message). */
export const targetsFor = (policy: Policy, identity: Identity): Target[] =>
  policy.targets.filter((target) =>
    target.allowedGroups.some((allowed) => identity.groups.includes(allowed)),
  );

/** `unknown target 'x'; you may open: a, b`: the names the caller could have meant, and no others. */
export function unknownTarget(name: string, allowed: readonly Target[]): ValidationError {
  const names = allowed.map((target) => target.name);
  return new ValidationError(
    `unknown target '${name}'; ${names.length ? `you may open: ${names.join(', ')}` : 'your groups may open no target'}`,
  );
}

export const isAdmin = (policy: Policy, identity: Identity): boolean =>
  identity.groups.includes(policy.adminGroup);

export const isAuditor = (policy: Policy, identity: Identity): boolean =>
  policy.auditorGroups?.some((group) => identity.groups.includes(group)) ?? false;

export interface AccessRequest {
  target: string;
  durationMinutes?: number | undefined;
  sourceIp: string;
}

export interface AccessDecision {
  target: Target;
  mode: Mode;
  durationMinutes: number;
}

/** Who may open what, for how long, from where. Throws a 4xx error that says which rule failed. */
export function decideAccess(
  policy: Policy,
  identity: Identity,
  request: AccessRequest,
): AccessDecision {
  const target = findTarget(policy, request.target);
  if (!target) throw unknownTarget(request.target, targetsFor(policy, identity));
  if (!target.allowedGroups.some((allowed) => identity.groups.includes(allowed))) {
    throw new ForbiddenError(`your groups may not open target '${target.name}'`);
  }
  if (
    target.allowedSourceCidrs &&
    !target.allowedSourceCidrs.some((block) => cidrContains(parseCidr(block), request.sourceIp))
  ) {
    throw new ForbiddenError(`target '${target.name}' may not be opened from ${request.sourceIp}`);
  }
  const durationMinutes = request.durationMinutes ?? target.defaultDurationMinutes;
  // A zero, negative or fractional window would make expiresAt meaningless (NaN included).
  if (!Number.isInteger(durationMinutes) || durationMinutes < 1) {
    throw new ValidationError('durationMinutes must be a whole number of minutes, at least 1');
  }
  if (durationMinutes > target.maxDurationMinutes) {
    throw new ValidationError(
      `durationMinutes ${durationMinutes} exceeds the maximum of ${target.maxDurationMinutes} for target '${target.name}'`,
    );
  }
  return { target, mode: target.mode, durationMinutes };
}
