// The deployable service, checked where it matters: the CloudFormation template that
// `osls package` produces (no AWS account needed) and the artifacts it zips. These tests are
// the guard rails for IAM: a wildcard action, a destructive EC2 call that is not fenced by
// the stage tag, or a launch outside the hardened template fails CI before anyone deploys.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { MAX_EARLY_FIRE_MS } from '../../lib/aws/eventbridge-expiry-scheduler.ts';
import { METRICS_NAMESPACE, METRICS_SERVICE } from '../../lib/aws/powertools-metrics.ts';
import { INDEX, TABLE_DEFINITION, TTL_ATTRIBUTE } from '../../lib/aws/table-definition.ts';
import { canonical, GENESIS_HASH } from '../../lib/domain/audit.ts';
import { parsePolicyJson } from '../../lib/domain/policy.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';
import { sealChunk } from '../../lib/domain/recording-chain.ts';
import { newSessionId } from '../../lib/domain/session.ts';
import { DEFAULT_BANNER } from '../../lib/domain/sshd-hardening.ts';
import { METRIC_UNITS } from '../../lib/ports/metrics.ts';
import {
  BASTION_PACKAGES,
  bastionImageComponent,
  SSHD_DEFAULTS_PATH,
} from '../../scripts/bastion-image-component.ts';
import { checkPolicyFile, launchFacts } from '../../scripts/policy-check.ts';
import { proofMessage } from '../support/readiness.ts';
import {
  type CfnResource,
  type CfnTemplate,
  type IamStatement,
  listZip,
  type PackagedService,
  type PolicyDocument,
  packageOnce,
  packageOnceWith,
  REPO_ROOT,
  readZipEntry,
} from './package-once.ts';

const STAGE = 'test';
const STAGE_TAG = 'aws:ResourceTag/drawbridge:stage';
const FUNCTIONS = [
  'requestSession',
  'getSession',
  'listSessions',
  'sessionEvents',
  'endSession',
  'provision',
  'onInstanceState',
  'onBastionLog',
  'expire',
  'reap',
  'usage',
  'verifyAudit',
  'issueCredentials',
  'extendSession',
  'approveSession',
  'denySession',
  'listReviews',
  'listApprovals',
  'reviewSession',
  'console',
  'listTargets',
  'getRecording',
] as const;
const logicalId = (name: string) => `${name[0]?.toUpperCase()}${name.slice(1)}LambdaFunction`;

let service: PackagedService;
let template: CfnTemplate;

const SECOND_ACCOUNT = {
  region: 'us-east-1',
  params: { policyFile: 'test/serverless/fixtures/second-account.policy.yaml' },
};

beforeAll(async () => {
  // One packaging at a time: osls writes and cleans .serverless/ in the repository whatever
  // --package says, so two at once race on it (seen: ENOENT on serverless-state.json).
  service = await packageOnce(STAGE);
  template = service.template;
}, 180_000);

// ---------------------------------------------------------------- helpers

interface RoleStatement extends IamStatement {
  role: string;
}

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** CloudFormation values (strings, Fn::Sub, Fn::GetAtt) as comparable text. */
const text = (value: unknown): string =>
  typeof value === 'string' ? value : JSON.stringify(value);

function resourcesOfType(type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

function resource(id: string): CfnResource {
  const found = template.Resources[id];
  if (!found) throw new Error(`template has no resource ${id}`);
  return found;
}

function property<T>(resourceId: string, name: string): T {
  return resource(resourceId).Properties?.[name] as T;
}

interface RoleProperties {
  AssumeRolePolicyDocument: PolicyDocument;
  Policies?: { PolicyName: string; PolicyDocument: PolicyDocument }[];
  ManagedPolicyArns?: unknown[];
}

/** Every permission statement of every role and standalone policy in the template. */
function permissionStatements(): RoleStatement[] {
  const statements: RoleStatement[] = [];
  for (const [id, role] of resourcesOfType('AWS::IAM::Role')) {
    const properties = role.Properties as unknown as RoleProperties;
    for (const policy of properties.Policies ?? []) {
      for (const statement of policy.PolicyDocument.Statement)
        statements.push({ ...statement, role: id });
    }
  }
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const [id, policy] of resourcesOfType(type)) {
      const document = policy.Properties?.PolicyDocument as PolicyDocument;
      for (const statement of document.Statement) statements.push({ ...statement, role: id });
    }
  }
  return statements;
}

function roleStatements(role: string): RoleStatement[] {
  return permissionStatements().filter((statement) => statement.role === role);
}

const actionsOf = (statement: IamStatement): string[] => asArray(statement.Action);
const resourcesOf = (statement: IamStatement): string[] =>
  asArray(statement.Resource as unknown).map(text);

function conditionValue(statement: IamStatement, operator: string, key: string): unknown {
  return statement.Condition?.[operator]?.[key];
}

function allowedActions(role: string): Set<string> {
  return new Set(
    roleStatements(role)
      .filter((statement) => statement.Effect === 'Allow')
      .flatMap(actionsOf),
  );
}

function roleOf(functionName: string): string {
  const role = property<unknown>(logicalId(functionName), 'Role');
  const match = /^\{"Fn::GetAtt":\["([A-Za-z0-9]+)","Arn"\]\}$/.exec(text(role));
  if (!match?.[1])
    throw new Error(`${functionName} does not name a role of this stack: ${text(role)}`);
  return match[1];
}

// ---------------------------------------------------------------- IAM

describe('IAM', () => {
  it('grants no wildcard action and uses no NotAction or Deny-by-omission tricks', () => {
    const statements = permissionStatements();
    expect(statements.length).toBeGreaterThan(20);
    for (const statement of statements) {
      expect(statement.NotAction, `${statement.role} ${statement.Sid}`).toBeUndefined();
      expect(statement.NotResource, `${statement.role} ${statement.Sid}`).toBeUndefined();
      for (const action of actionsOf(statement)) {
        expect(action, `${statement.role} ${statement.Sid}`).not.toBe('*');
        expect(action, `${statement.role} ${statement.Sid}`).not.toMatch(/:\*$/);
        expect(action, `${statement.role} ${statement.Sid}`).not.toContain('*');
      }
    }
  });

  it('allows Resource "*" only for Describe calls and Session Manager channels, which cannot be scoped', () => {
    for (const statement of permissionStatements()) {
      if (!resourcesOf(statement).includes('*')) continue;
      for (const action of actionsOf(statement)) {
        expect(action, `${statement.role} ${statement.Sid}`).toMatch(
          /^(ec2:Describe[A-Za-z]+|ssm:Describe(Sessions|InstanceInformation)|ssmmessages:(Create|Open)(Control|Data)Channel)$/,
        );
      }
    }
  });

  it('fences every destructive or widening EC2 call with the stage tag', () => {
    const fenced = [
      'ec2:TerminateInstances',
      'ec2:DeleteSecurityGroup',
      'ec2:AuthorizeSecurityGroupIngress',
      'ec2:AuthorizeSecurityGroupEgress',
      'ec2:RevokeSecurityGroupEgress',
    ];
    let checked = 0;
    for (const statement of permissionStatements()) {
      if (!actionsOf(statement).some((action) => fenced.includes(action))) continue;
      checked++;
      const where = `${statement.role} ${statement.Sid}`;
      const resources = resourcesOf(statement);
      if (resources.every((arn) => arn.includes(':security-group-rule/'))) {
        // A rule being authorised does not exist yet: it must carry the tag in the request.
        expect(
          conditionValue(statement, 'StringEquals', 'aws:RequestTag/drawbridge:stage'),
          where,
        ).toBe(STAGE);
        expect(
          actionsOf(statement).every((action) => action.startsWith('ec2:Authorize')),
          where,
        ).toBe(true);
      } else {
        expect(conditionValue(statement, 'StringEquals', STAGE_TAG), where).toBe(STAGE);
        expect(
          resources.some((arn) => arn.includes(':security-group-rule/')),
          where,
        ).toBe(false);
      }
    }
    expect(checked).toBeGreaterThanOrEqual(5);
  });

  it('creates security groups only with the stage tag, and tags only while creating', () => {
    const creates = permissionStatements().filter((statement) =>
      actionsOf(statement).includes('ec2:CreateSecurityGroup'),
    );
    expect(creates.length).toBeGreaterThan(0);
    for (const statement of creates) {
      const resources = resourcesOf(statement);
      if (resources.some((arn) => arn.includes(':security-group/'))) {
        expect(conditionValue(statement, 'StringEquals', 'aws:RequestTag/drawbridge:stage')).toBe(
          STAGE,
        );
      } else {
        expect(resources.every((arn) => arn.includes(':vpc/'))).toBe(true);
      }
    }
    const tagging = permissionStatements().filter((statement) =>
      actionsOf(statement).includes('ec2:CreateTags'),
    );
    expect(tagging.length).toBeGreaterThan(0);
    for (const statement of tagging) {
      const allowed = asArray(
        conditionValue(statement, 'StringEquals', 'ec2:CreateAction') as string[],
      );
      expect(allowed.length, `${statement.role} ${statement.Sid}`).toBeGreaterThan(0);
      expect(
        allowed.every((action) =>
          [
            'CreateSecurityGroup',
            'RunInstances',
            'AuthorizeSecurityGroupIngress',
            'AuthorizeSecurityGroupEgress',
          ].includes(action),
        ),
      ).toBe(true);
    }
  });

  it('launches instances, volumes and interfaces only from the hardened launch template', () => {
    const launchTemplateArn = /launch-template\/\$\{BastionLaunchTemplate\}/;
    const runs = permissionStatements().filter((statement) =>
      actionsOf(statement).includes('ec2:RunInstances'),
    );
    expect(runs.length).toBeGreaterThan(0);
    for (const statement of runs) {
      expect(statement.role).toBe('ProvisionRole');
      expect(actionsOf(statement)).toEqual(['ec2:RunInstances']);
      const resources = resourcesOf(statement);
      const creates = resources.filter((arn) =>
        /:(instance|volume|network-interface)\/\*/.test(arn),
      );
      if (creates.length > 0) {
        const template = conditionValue(statement, 'ArnEquals', 'ec2:LaunchTemplate');
        expect(text(template), statement.Sid).toMatch(launchTemplateArn);
        // nothing else may ride along unconditioned in the same statement
        expect(creates).toEqual(resources);
      }
      if (resources.some((arn) => arn.includes(':instance/'))) {
        expect(conditionValue(statement, 'StringEquals', 'aws:RequestTag/drawbridge:stage')).toBe(
          STAGE,
        );
      }
      if (resources.some((arn) => arn.includes(':security-group/'))) {
        expect(conditionValue(statement, 'StringEquals', STAGE_TAG)).toBe(STAGE);
      }
      if (resources.some((arn) => arn.includes(':launch-template/'))) {
        expect(
          resources
            .filter((arn) => arn.includes(':launch-template/'))
            .every((arn) => launchTemplateArn.test(arn)),
        ).toBe(true);
      }
    }
    const covered = runs.flatMap(resourcesOf).join(' ');
    for (const kind of [
      'instance',
      'volume',
      'network-interface',
      'security-group',
      'subnet',
      'image',
    ]) {
      expect(covered, kind).toContain(`:${kind}/`);
    }
  });

  it('passes only the bastion role to EC2 and the scheduler role to EventBridge Scheduler', () => {
    const expected: Record<string, string> = {
      BastionRole: 'ec2.amazonaws.com',
      SsmBastionRole: 'ec2.amazonaws.com',
      SchedulerRole: 'scheduler.amazonaws.com',
    };
    const passes = permissionStatements().filter((statement) =>
      actionsOf(statement).includes('iam:PassRole'),
    );
    expect(new Set(passes.map((statement) => statement.role))).toEqual(
      // extendSession moves a session's expiry schedule, which passes the scheduler role.
      // onBastionLog marks READY on the readiness proof, which arms the expiry schedule
      new Set(['ProvisionRole', 'OnInstanceStateRole', 'OnBastionLogRole', 'ExtendSessionRole']),
    );
    for (const statement of passes) {
      expect(actionsOf(statement)).toEqual(['iam:PassRole']);
      const resources = asArray(statement.Resource as unknown);
      expect(resources).toHaveLength(1);
      const match = /^\{"Fn::GetAtt":\["(\w+)","Arn"\]\}$/.exec(text(resources[0]));
      const passed = match?.[1] ?? '';
      expect(Object.keys(expected)).toContain(passed);
      expect(conditionValue(statement, 'StringEquals', 'iam:PassedToService')).toBe(
        expected[passed],
      );
    }
  });

  it('gives every function its own role and no shared execution role', () => {
    const roles = FUNCTIONS.map(roleOf);
    expect(new Set(roles).size).toBe(FUNCTIONS.length);
    expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
    const lambdas = resourcesOfType('AWS::Lambda::Function').map(([id]) => id);
    expect(lambdas.sort()).toEqual(FUNCTIONS.map(logicalId).sort());
    for (const role of roles) {
      const properties = resource(role).Properties as unknown as RoleProperties;
      expect(properties.ManagedPolicyArns, role).toBeUndefined();
      const trust = properties.AssumeRolePolicyDocument.Statement;
      expect(trust).toHaveLength(1);
      expect(trust[0]?.Principal).toEqual({ Service: 'lambda.amazonaws.com' });
    }
  });

  it('lets each function write logs to its own log group only', () => {
    for (const name of FUNCTIONS) {
      const logs = roleStatements(roleOf(name)).filter((statement) =>
        actionsOf(statement).some(
          (action) => action === 'logs:CreateLogStream' || action === 'logs:PutLogEvents',
        ),
      );
      expect(logs, name).toHaveLength(1);
      expect(new Set(actionsOf(logs[0] as IamStatement))).toEqual(
        new Set(['logs:CreateLogStream', 'logs:PutLogEvents']),
      );
      expect(resourcesOf(logs[0] as IamStatement)).toEqual([
        expect.stringContaining(`:log-group:/aws/lambda/drawbridge-${STAGE}-${name}:*`),
      ]);
    }
  });

  it('lets only sessionEvents read bastion logs, and only that log group', () => {
    for (const name of FUNCTIONS) {
      const reads = roleStatements(roleOf(name)).filter((statement) =>
        actionsOf(statement).includes('logs:GetLogEvents'),
      );
      if (name === 'getRecording') continue;
      if (name !== 'sessionEvents') {
        expect(reads, name).toEqual([]);
        continue;
      }
      expect(reads).toHaveLength(1);
      expect(actionsOf(reads[0] as IamStatement)).toEqual(['logs:GetLogEvents']);
      expect(resourcesOf(reads[0] as IamStatement)).toEqual([
        expect.stringContaining(`:log-group:/drawbridge/${STAGE}/sessions:log-stream:*`),
      ]);
    }
  });

  it('lets only the recording readers filter logs: the bastion log group, and ssm sessions for getRecording', () => {
    // The functions that end sessions leave the head to the reaper (lib/app/seal-recording.ts).
    const readers = ['getRecording', 'verifyAudit', 'reap'];
    for (const name of FUNCTIONS) {
      const filters = roleStatements(roleOf(name)).filter((statement) =>
        actionsOf(statement).includes('logs:FilterLogEvents'),
      );
      if (!readers.includes(name)) {
        expect(filters, name).toEqual([]);
        continue;
      }
      const groups = filters.flatMap(resourcesOf);
      expect(groups.length, name).toBeGreaterThan(0);
      for (const resource of groups) {
        expect(resource, name).toMatch(
          name === 'getRecording'
            ? new RegExp(`:log-group:/drawbridge/${STAGE}/(sessions|ssm-sessions):`)
            : new RegExp(`:log-group:/drawbridge/${STAGE}/sessions:`),
        );
      }
    }
  });

  it('grants each function the calls its use case makes, and nothing destructive to the read-only ones', () => {
    const table = [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:ConditionCheckItem',
    ];
    const want: Record<(typeof FUNCTIONS)[number], string[]> = {
      requestSession: [...table, 'sqs:SendMessage'],
      getSession: ['dynamodb:GetItem'],
      listSessions: ['dynamodb:Query'],
      sessionEvents: ['dynamodb:GetItem', 'dynamodb:Query', 'logs:GetLogEvents'],
      endSession: [
        ...table,
        'ec2:TerminateInstances',
        'ec2:DeleteSecurityGroup',
        'scheduler:DeleteSchedule',
      ],
      provision: [
        ...table,
        'ec2:RunInstances',
        'ec2:CreateSecurityGroup',
        'iam:PassRole',
        // ssm sessions become READY in provision, which arms their expiry schedule (layer 2)
        'scheduler:CreateSchedule',
        'scheduler:UpdateSchedule',
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
      ],
      onInstanceState: [
        ...table,
        'dynamodb:Query',
        'scheduler:CreateSchedule',
        'scheduler:UpdateSchedule',
        'scheduler:DeleteSchedule',
        'iam:PassRole',
      ],
      // the same use case family: the bastion's own signals to its session, its readiness
      // proof and the recorder's idle end chunk, which ends the session (its bastion too)
      onBastionLog: [
        ...table,
        'dynamodb:Query',
        'scheduler:CreateSchedule',
        'scheduler:UpdateSchedule',
        'scheduler:DeleteSchedule',
        'iam:PassRole',
        'ec2:TerminateInstances',
        'ec2:DeleteSecurityGroup',
      ],
      expire: [
        ...table,
        'ec2:TerminateInstances',
        'scheduler:DeleteSchedule',
        'ssm:DescribeSessions',
        'ssm:TerminateSession',
      ],
      issueCredentials: [...table, 'sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'],
      usage: ['dynamodb:Query'],
      verifyAudit: ['dynamodb:GetItem', 'dynamodb:Query', 'logs:FilterLogEvents'],
      getRecording: [...table, 'logs:GetLogEvents', 'logs:FilterLogEvents'],
      reap: [
        ...table,
        'dynamodb:Query',
        'ec2:DescribeSecurityGroups',
        'ec2:TerminateInstances',
        'scheduler:DeleteSchedule',
        'ssm:DescribeSessions',
        'ssm:TerminateSession',
        // seals ended sessions' recordings once they settled
        'logs:FilterLogEvents',
      ],
      extendSession: [...table, 'scheduler:UpdateSchedule', 'iam:PassRole'],
      approveSession: [...table, 'sqs:SendMessage'],
      denySession: table,
      listReviews: ['dynamodb:Query'],
      listApprovals: ['dynamodb:Query'],
      listTargets: ['logs:PutLogEvents'],
      reviewSession: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      // serves files from its own artifact: no AWS call beyond its logs
      console: [],
    };
    for (const name of FUNCTIONS) {
      const actions = allowedActions(roleOf(name));
      for (const action of want[name])
        expect([...actions], `${name} needs ${action}`).toContain(action);
    }
    for (const name of [
      'getSession',
      'listSessions',
      'sessionEvents',
      'usage',
      'verifyAudit',
      'listReviews',
      'listApprovals',
      'listTargets',
    ] as const) {
      const writes = [...allowedActions(roleOf(name))].filter(
        (action) =>
          !/^(dynamodb:(GetItem|Query)|logs:(GetLogEvents|FilterLogEvents|CreateLogStream|PutLogEvents))$/.test(
            action,
          ),
      );
      expect(writes, name).toEqual([]);
    }
    const queries = (name: string) =>
      roleStatements(roleOf(name))
        .filter((statement) => actionsOf(statement).includes('dynamodb:Query'))
        .flatMap(resourcesOf)
        .join(' ');
    expect(queries('listSessions')).toContain('/index/byOwner');
    expect(queries('listSessions')).toContain('/index/byCreated');
    expect(queries('reap')).toContain('/index/byDue');
    expect(queries('usage')).toContain('/index/byCreated');
    // One index, read only: the pending listing is the admin listing's query, never a Scan.
    expect(queries('listApprovals')).toMatch(
      /^\{"Fn::Sub":"\$\{SessionsTable\.Arn\}\/index\/byCreated"\}$/,
    );
    expect(queries('onInstanceState')).toContain('/index/byInstance');
  });

  it('publishes only to the KMS-encrypted security alerts topic, and only from the functions that alert', () => {
    const publishes = permissionStatements().filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('sns:')),
    );
    expect(new Set(publishes.map((statement) => statement.role))).toEqual(
      new Set([
        'RequestSessionRole',
        'EndSessionRole',
        'ProvisionRole',
        'OnInstanceStateRole',
        'OnBastionLogRole',
        'ExpireRole',
        'ReapRole',
      ]),
    );
    for (const statement of publishes) {
      expect(actionsOf(statement), statement.role).toEqual(['sns:Publish']);
      expect(resourcesOf(statement), statement.role).toEqual([
        text({ Ref: 'SecurityAlertsTopic' }),
      ]);
    }
    expect(property('SecurityAlertsTopic', 'KmsMasterKeyId')).toBe('alias/aws/sns');
    for (const name of FUNCTIONS) {
      const environment = resource(logicalId(name)).Properties?.Environment as
        | { Variables: Record<string, unknown> }
        | undefined;
      expect(environment?.Variables.ALERT_TOPIC_ARN, name).toEqual({ Ref: 'SecurityAlertsTopic' });
    }
  });

  it("limits schedule calls to this stage's schedule group", () => {
    for (const statement of permissionStatements()) {
      if (!actionsOf(statement).some((action) => action.startsWith('scheduler:'))) continue;
      for (const arn of resourcesOf(statement)) {
        expect(arn, `${statement.role} ${statement.Sid}`).toContain(
          `:schedule/drawbridge-${STAGE}/*`,
        );
      }
    }
  });

  it('lets EventBridge Scheduler invoke only the expire function and dead-letter to its queue', () => {
    const role = resource('SchedulerRole').Properties as unknown as RoleProperties;
    const trust = role.AssumeRolePolicyDocument.Statement;
    expect(trust).toHaveLength(1);
    expect(trust[0]?.Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
    expect(conditionValue(trust[0] as IamStatement, 'StringEquals', 'aws:SourceAccount')).toEqual({
      Ref: 'AWS::AccountId',
    });
    const statements = roleStatements('SchedulerRole');
    expect(statements.flatMap(actionsOf).sort()).toEqual([
      'lambda:InvokeFunction',
      'sqs:SendMessage',
    ]);
    const invoke = statements.find((statement) =>
      actionsOf(statement).includes('lambda:InvokeFunction'),
    );
    expect(resourcesOf(invoke as IamStatement)).toEqual([
      expect.stringMatching(new RegExp(`:function:drawbridge-${STAGE}-expire"`)),
    ]);
    const deadLetter = statements.find((statement) =>
      actionsOf(statement).includes('sqs:SendMessage'),
    );
    expect(resourcesOf(deadLetter as IamStatement)).toEqual([
      text({ 'Fn::GetAtt': ['ExpiryDLQ', 'Arn'] }),
    ]);
  });

  it('lets the bastion only append to instance-named streams of its log group, with instance credentials', () => {
    const statements = roleStatements('BastionRole');
    expect(new Set(statements.flatMap(actionsOf))).toEqual(
      new Set(['logs:CreateLogStream', 'logs:PutLogEvents']),
    );
    for (const statement of statements) {
      for (const arn of resourcesOf(statement)) {
        // the CloudWatch agent's {instance_id} stream (lib/aws/cloud-config.ts), never any stream
        expect(arn).toMatch(
          new RegExp(`:log-group:/drawbridge/${STAGE}/sessions:log-stream:i-\\*"`),
        );
      }
      expect(text(conditionValue(statement, 'ArnLike', 'ec2:SourceInstanceARN'))).toMatch(
        /:instance\/i-\*"/,
      );
    }
    const trust = (resource('BastionRole').Properties as unknown as RoleProperties)
      .AssumeRolePolicyDocument.Statement;
    expect(trust[0]?.Principal).toEqual({ Service: 'ec2.amazonaws.com' });
  });
});

// ---------------------------------------------------------------- hardening (issue 9)

describe('hardening', () => {
  const shipped = launchFacts(checkPolicyFile(join(REPO_ROOT, 'policy', 'drawbridge.policy.yaml')));
  const ec2Arns = (kind: string, ids: string[]) =>
    ids.map((id) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:ec2:\${AWS::Region}:\${AWS::AccountId}:${kind}/${id}`,
    }));
  const statementsWith = (action: string) =>
    permissionStatements().filter((statement) => actionsOf(statement).includes(action));

  it('throttles the API stage at the stage params (50 requests/s, bursts of 100)', () => {
    expect(property('HttpApiStage', 'DefaultRouteSettings')).toMatchObject({
      ThrottlingRateLimit: 50,
      ThrottlingBurstLimit: 100,
    });
  });

  it('writes one JSON access-log line per request, refused tokens included, to a kept log group', () => {
    const settings = property<{ DestinationArn: unknown; Format: string }>(
      'HttpApiStage',
      'AccessLogSettings',
    );
    expect(settings.DestinationArn).toEqual({ 'Fn::GetAtt': ['HttpApiLogGroup', 'Arn'] });
    const fields = Object.values(JSON.parse(settings.Format) as Record<string, string>);
    for (const variable of [
      '$context.requestId',
      '$context.identity.sourceIp',
      '$context.routeKey',
      '$context.status',
      '$context.authorizer.error',
      '$context.integrationErrorMessage',
    ]) {
      expect(fields, variable).toContain(variable);
    }
    expect(property('HttpApiLogGroup', 'RetentionInDays')).toBe(90);
  });

  it('reserves concurrency for the functions that end access (expire 50, reap 2)', () => {
    expect(property(logicalId('expire'), 'ReservedConcurrentExecutions')).toBe(50);
    expect(property(logicalId('reap'), 'ReservedConcurrentExecutions')).toBe(2);
  });

  it('terminates only instances launched from the stage launch template, never by a settable tag alone', () => {
    const terminations = statementsWith('ec2:TerminateInstances');
    expect(terminations.map((statement) => statement.role).sort()).toEqual(
      [
        'EndSessionRole',
        'ExpireRole',
        'OnBastionLogRole',
        'OnInstanceStateRole',
        'ProvisionRole',
        'ReapRole',
      ].filter((role) => allowedActions(role).has('ec2:TerminateInstances')),
    );
    expect(terminations.length).toBeGreaterThanOrEqual(3);
    for (const statement of terminations) {
      const where = `${statement.role} ${statement.Sid}`;
      expect(actionsOf(statement), where).toEqual(['ec2:TerminateInstances']);
      expect(
        resourcesOf(statement).every((arn) => arn.includes(':instance/*')),
        where,
      ).toBe(true);
      expect(
        conditionValue(statement, 'StringEquals', 'aws:ResourceTag/aws:ec2launchtemplate:id'),
        where,
      ).toEqual({ Ref: 'BastionLaunchTemplate' });
      expect(conditionValue(statement, 'StringEquals', STAGE_TAG), where).toBe(STAGE);
    }
  });

  it("deletes and creates security groups only in the policy's VPCs", () => {
    const vpcs = ec2Arns('vpc', shipped.vpcIds);
    for (const statement of statementsWith('ec2:DeleteSecurityGroup')) {
      expect(conditionValue(statement, 'ArnEquals', 'ec2:Vpc'), statement.Sid).toEqual(vpcs);
    }
    const creates = roleStatements('ProvisionRole').filter((statement) =>
      actionsOf(statement).includes('ec2:CreateSecurityGroup'),
    );
    expect(creates).toHaveLength(2);
    for (const statement of creates) {
      const resources = asArray(statement.Resource as unknown);
      if (text(resources).includes(':security-group/')) {
        expect(conditionValue(statement, 'ArnEquals', 'ec2:Vpc')).toEqual(vpcs);
      } else {
        expect(resources).toEqual(vpcs);
      }
    }
  });

  it("launches only IMDSv2 instances of the policy's types, encrypted volumes, in the policy's subnets", () => {
    const runs = roleStatements('ProvisionRole').filter((statement) =>
      actionsOf(statement).includes('ec2:RunInstances'),
    );
    const on = (kind: string) => {
      const found = runs.filter((statement) =>
        resourcesOf(statement).some((arn) => arn.includes(`:${kind}/`)),
      );
      expect(found, kind).toHaveLength(1);
      return found[0] as IamStatement;
    };
    const instance = on('instance');
    expect(conditionValue(instance, 'StringEquals', 'ec2:MetadataHttpTokens')).toBe('required');
    expect(conditionValue(instance, 'StringEquals', 'ec2:InstanceType')).toEqual(
      shipped.instanceTypes,
    );
    expect(conditionValue(on('volume'), 'Bool', 'ec2:Encrypted')).toBe('true');
    const subnets = ec2Arns('subnet', shipped.subnetIds);
    expect(conditionValue(on('network-interface'), 'ArnEquals', 'ec2:Subnet')).toEqual(subnets);
    expect(asArray(on('subnet').Resource as unknown)).toEqual(subnets);
  });

  it('deploys the same repository to another account and region with its own policy, no edits', async () => {
    const other = await packageOnceWith('second', SECOND_ACCOUNT);
    const otherResource = (id: string): CfnResource => {
      const found = other.template.Resources[id];
      if (!found) throw new Error(`second template has no resource ${id}`);
      return found;
    };
    const statements = (id: string) =>
      (otherResource(id).Properties as unknown as RoleProperties).Policies?.flatMap(
        (policy) => policy.PolicyDocument.Statement,
      ) ?? [];
    const provision = statements('ProvisionRole');
    const sid = (name: string) => provision.find((statement) => statement.Sid === name);
    expect(asArray(sid('LaunchInPolicySubnets')?.Resource as unknown)).toEqual(
      ec2Arns('subnet', ['subnet-0bbbbbbbbbbbbbbb1']),
    );
    expect(
      conditionValue(
        sid('LaunchTaggedInstanceFromTemplateOnly') as IamStatement,
        'StringEquals',
        'ec2:InstanceType',
      ),
    ).toEqual(['m7g.medium']);
    expect(sid('CreateSecurityGroupInVpc')?.Resource).toEqual(
      ec2Arns('vpc', ['vpc-0bbbbbbbbbbbbbbbb']),
    );
    // the account and region are the stack's own, never written into the template
    const serialized = JSON.stringify(other.template);
    expect(serialized).not.toMatch(/\b\d{12}\b/);
    expect(serialized).not.toContain('eu-west-1');
    const env = (
      otherResource(logicalId('provision')).Properties as {
        Environment: { Variables: Record<string, unknown> };
      }
    ).Environment.Variables;
    expect(env.POLICY_FILE).toBe('.build/test/serverless/fixtures/second-account.policy.json');
    expect(env.PROVISION_QUEUE_URL).toEqual({ Ref: 'ProvisionQueue' });
    expect(listZip(other.artifacts.provision as string).map((entry) => entry.name)).toContain(
      '.build/test/serverless/fixtures/second-account.policy.json',
    );
  }, 180_000);
});

// ---------------------------------------------------------------- bastion image (issue 11)

describe('bastion image', () => {
  interface ComponentStep {
    name: string;
    action: string;
    inputs: { commands?: string[] } | { path: string; content: string }[];
  }
  const component = () =>
    parseYaml(property<string>('BastionImageComponent', 'Data')) as {
      phases: { name: string; steps: ComponentStep[] }[];
    };
  const steps = (phase: string) =>
    component().phases.find((candidate) => candidate.name === phase)?.steps ?? [];
  const files = () =>
    steps('build').flatMap((step) => (Array.isArray(step.inputs) ? step.inputs : [])) as {
      path: string;
      content: string;
    }[];
  const commands = (phase: string) =>
    steps(phase).flatMap((step) =>
      Array.isArray(step.inputs) ? [] : (step.inputs.commands ?? []),
    );

  it('bakes the component rendered from the hardening code, unchanged', () => {
    expect(property('BastionImageComponent', 'Data')).toBe(bastionImageComponent());
    expect(property('BastionImageComponent', 'Platform')).toBe('Linux');
  });

  it('patches and installs the CloudWatch agent, rsyslog and nftables, and validates them', () => {
    expect(commands('build')).toEqual(
      expect.arrayContaining([
        'dnf -y upgrade --refresh',
        `dnf -y install ${BASTION_PACKAGES.join(' ')}`,
        'systemctl enable rsyslog nftables',
      ]),
    );
    expect(commands('validate')).toEqual(
      expect.arrayContaining(['sshd -t', `rpm -q ${BASTION_PACKAGES.join(' ')}`]),
    );
  });

  it('ships hardened sshd defaults with the banner, and root-only instance metadata from first boot', () => {
    const byPath = new Map(files().map((file) => [file.path, file.content]));
    const defaults = byPath.get(SSHD_DEFAULTS_PATH) ?? '';
    expect(defaults).toContain('PasswordAuthentication no');
    expect(defaults).toContain('AllowAgentForwarding no');
    expect(defaults).toContain('Banner /etc/ssh/drawbridge-banner');
    expect(defaults).not.toMatch(/^Banner none$/m);
    expect(byPath.get('/etc/ssh/drawbridge-banner')).toBe(DEFAULT_BANNER);
    expect(byPath.get('/etc/nftables/drawbridge-imds.nft')).toContain('meta skuid != 0 reject');
    expect(byPath.get('/etc/sysconfig/nftables.conf')).toContain('drawbridge-imds.nft');
  });

  it('builds from the latest AL2023 minimal arm64 image onto an encrypted volume', () => {
    expect(property('BastionImageRecipe', 'ParentImage')).toBe(
      'ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-minimal-kernel-default-arm64',
    );
    expect(property('BastionImageRecipe', 'Components')).toEqual([
      { ComponentArn: { Ref: 'BastionImageComponent' } },
    ]);
    expect(property('BastionImageRecipe', 'BlockDeviceMappings')).toEqual([
      {
        DeviceName: '/dev/xvda',
        Ebs: { VolumeType: 'gp3', VolumeSize: 8, Encrypted: true, DeleteOnTermination: true },
      },
    ]);
  });

  it('builds on instances whose profile holds only the documented Image Builder minimum, IMDSv2', () => {
    expect(property('BastionImageInfrastructure', 'InstanceProfileName')).toEqual({
      Ref: 'BastionImageBuildInstanceProfile',
    });
    expect(property('BastionImageInfrastructure', 'InstanceMetadataOptions')).toEqual({
      HttpTokens: 'required',
      HttpPutResponseHopLimit: 1,
    });
    const role = resource('BastionImageBuildRole').Properties as unknown as RoleProperties;
    expect(role.Policies).toBeUndefined();
    expect(role.ManagedPolicyArns?.map(text)).toEqual([
      expect.stringContaining(':iam::aws:policy/EC2InstanceProfileForImageBuilder'),
      expect.stringContaining(':iam::aws:policy/AmazonSSMManagedInstanceCore'),
    ]);
    expect(role.AssumeRolePolicyDocument.Statement[0]?.Principal).toEqual({
      Service: 'ec2.amazonaws.com',
    });
  });

  it('publishes each image id to the stage parameter, tagged for the stage', () => {
    const [distribution] = property<
      {
        AmiDistributionConfiguration: { AmiTags: Record<string, string> };
        SsmParameterConfigurations: unknown[];
      }[]
    >('BastionImageDistribution', 'Distributions');
    expect(distribution?.SsmParameterConfigurations).toEqual([
      { ParameterName: `/drawbridge/${STAGE}/bastion-ami`, DataType: 'aws:ec2:image' },
    ]);
    expect(distribution?.AmiDistributionConfiguration.AmiTags).toEqual({
      'drawbridge:stage': STAGE,
    });
  });

  it('rebuilds weekly by default (a stage param), every time, and keeps 3 images', () => {
    expect(property('BastionImagePipeline', 'Schedule')).toEqual({
      ScheduleExpression: 'cron(0 3 ? * sun *)',
      PipelineExecutionStartCondition: 'EXPRESSION_MATCH_ONLY',
    });
    expect(property('BastionImagePipeline', 'Status')).toBe('ENABLED');
    const [detail] = property<{ Action: unknown; Filter: unknown }[]>(
      'BastionImageLifecyclePolicy',
      'PolicyDetails',
    );
    expect(detail).toEqual({
      Action: { Type: 'DELETE', IncludeResources: { Amis: true, Snapshots: true } },
      Filter: { Type: 'COUNT', Value: 3 },
    });
    expect(property('BastionImageLifecyclePolicy', 'ResourceSelection')).toEqual({
      Recipes: [{ Name: `drawbridge-${STAGE}-bastion`, SemanticVersion: '1.0.0' }],
    });
  });

  it("lets provision read that one parameter and launch only this account's stage images", () => {
    const provision = roleStatements('ProvisionRole');
    const reads = provision.filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('ssm:GetParameter')),
    );
    expect(reads).toHaveLength(1);
    expect(actionsOf(reads[0] as IamStatement)).toEqual(['ssm:GetParameters']);
    expect(resourcesOf(reads[0] as IamStatement)).toEqual([
      JSON.stringify({
        'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/drawbridge/${STAGE}/bastion-ami`,
      }),
    ]);
    const images = provision.filter((statement) =>
      resourcesOf(statement).some((arn) => arn.includes(':image/')),
    );
    expect(images).toHaveLength(1);
    expect(conditionValue(images[0] as IamStatement, 'StringEquals', 'ec2:Owner')).toEqual({
      Ref: 'AWS::AccountId',
    });
    expect(conditionValue(images[0] as IamStatement, 'StringEquals', STAGE_TAG)).toBe(STAGE);
  });
});

// ---------------------------------------------------------------- functions and events

describe('the bastion log group subscription (onBastionLog)', () => {
  const sessionId = newSessionId();
  /** An end chunk as the recorder writes it: canonical JSON, one line, one log event. */
  const endChunk = (reason: 'idle' | 'exit' | 'hangup') =>
    canonical(
      sealChunk({
        v: 1,
        sid: sessionId,
        seq: 12,
        prev: 'c'.repeat(64),
        conn: '1796165246736-2672',
        kind: 'end',
        at: 1_796_165_246_736,
        reason,
      }),
    );
  const otherChunks = [
    sealChunk({
      v: 1,
      sid: sessionId,
      seq: 1,
      prev: GENESIS_HASH,
      conn: 'c1',
      kind: 'start',
      at: 1000,
      width: 80,
      height: 24,
      user: 'db-x',
      input: false,
    }),
    // Output that spells the idle chunk's own text: escaped in the data chunk, so no match.
    sealChunk({
      v: 1,
      sid: sessionId,
      seq: 2,
      prev: 'd'.repeat(64),
      conn: 'c1',
      kind: 'data',
      events: [[2000, 'o', '{"kind":"end","reason":"idle","seq":3} drawbridge-ready']],
    }),
  ].map((chunk) => canonical(chunk));

  function subscription(): { pattern: string; properties: Record<string, unknown> } {
    const filters = resourcesOfType('AWS::Logs::SubscriptionFilter');
    // A log group takes two subscription filters: Drawbridge uses one, the operator keeps one.
    expect(filters).toHaveLength(1);
    const properties = filters[0]?.[1].Properties ?? {};
    return { pattern: String(properties.FilterPattern), properties };
  }

  it('is one filter on the bastion log group, to onBastionLog', () => {
    const { properties } = subscription();
    expect(text(properties.LogGroupName)).toContain(`/drawbridge/${STAGE}/sessions`);
    expect(text(properties.DestinationArn)).toContain(logicalId('onBastionLog'));
  });

  it('lets through the readiness proof and the idle end chunk, and nothing else the bastion ships', () => {
    const { pattern } = subscription();
    // CloudWatch's regex filter: %…%, and only the characters its regex syntax takes (no
    // spaces, quotes or parentheses): a pattern it refuses would fail the deployment.
    expect(pattern).toMatch(/^%[A-Za-z0-9:_#=@/;,\-^$?[\]{}|\\*+.]+%$/);
    const regex = new RegExp(pattern.slice(1, -1));
    const fingerprint = `SHA256:${'A'.repeat(43)}`;
    expect(regex.test(proofMessage(sessionId, fingerprint))).toBe(true);
    expect(regex.test(endChunk('idle'))).toBe(true);
    for (const line of [
      endChunk('exit'),
      endChunk('hangup'),
      ...otherChunks,
      'Nov 24 09:00:07 ip-10-0-1-7 sshd[901]: Accepted publickey for db-x from 203.0.113.9 port 50022',
      'Nov 24 09:30:00 ip-10-0-1-7 sshd[901]: Disconnected from user db-x 203.0.113.9 port 50022',
    ]) {
      expect(regex.test(line), line).toBe(false);
    }
  });
});

describe('functions', () => {
  interface FunctionProperties {
    Runtime: string;
    Architectures: string[];
    Handler: string;
    MemorySize: number;
    Timeout: number;
    Environment: { Variables: Record<string, unknown> };
  }
  const fn = (name: string) =>
    resource(logicalId(name)).Properties as unknown as FunctionProperties;

  it('runs every function on nodejs24.x, arm64, with the common environment', () => {
    for (const name of FUNCTIONS) {
      const properties = fn(name);
      expect(properties.Runtime, name).toBe('nodejs24.x');
      expect(properties.Architectures, name).toEqual(['arm64']);
      expect(properties.Environment.Variables).toMatchObject({
        STAGE,
        TABLE_NAME: `drawbridge-${STAGE}`,
        GROUPS_CLAIM: 'groups',
        POLICY_FILE: '.build/policy/drawbridge.policy.json',
        POWERTOOLS_SERVICE_NAME: 'drawbridge',
        POWERTOOLS_METRICS_NAMESPACE: 'Drawbridge',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
      });
    }
  });

  it('gives API functions 10 s, the background workers 60 s and expire time to wait for an early schedule', () => {
    for (const name of [
      'requestSession',
      'getSession',
      'listSessions',
      'sessionEvents',
      'endSession',
    ]) {
      expect(fn(name).Timeout, name).toBe(10);
      expect(fn(name).MemorySize, name).toBe(256);
    }
    for (const name of ['provision', 'reap']) expect(fn(name).Timeout, name).toBe(60);
    // The schedule fires up to MAX_EARLY_FIRE_MS early and expire waits for expiresAt.
    expect(fn('expire').Timeout * 1000).toBeGreaterThanOrEqual(MAX_EARLY_FIRE_MS + 20_000);
    expect(fn('provision').MemorySize).toBe(512);
  });

  it("has the console publish the stage's sign-in settings from the deploy's params (none by default)", () => {
    expect(fnEnv('console')).toEqual({
      OIDC_ISSUER: 'https://issuer.example.com/',
      OIDC_CLIENT_ID: '',
      OIDC_CONSOLE_CLIENT_ID: '',
      OIDC_AUDIENCE: 'drawbridge',
      OIDC_SCOPES: 'openid offline_access',
      ...Object.fromEntries(
        Object.entries(fnEnv('console')).filter(([name]) => !name.startsWith('OIDC_')),
      ),
    });
  });

  it('routes the HTTP API through the JWT authorizer', () => {
    const routes = resourcesOfType('AWS::ApiGatewayV2::Route').map(
      ([, route]) =>
        route.Properties as { RouteKey: string; AuthorizationType: string; AuthorizerId: unknown },
    );
    // The console's files are public (the page is what signs people in); nothing else is.
    const consoleRoutes = routes.filter(
      (route) =>
        route.RouteKey.startsWith('GET /assets/') ||
        route.RouteKey === 'GET /' ||
        route.RouteKey === 'GET /.well-known/drawbridge',
    );
    expect(consoleRoutes.map((route) => [route.RouteKey, route.AuthorizationType]).sort()).toEqual([
      ['GET /', undefined],
      ['GET /.well-known/drawbridge', undefined],
      ['GET /assets/{file}', undefined],
    ]);
    const apiRoutes = routes.filter((route) => !consoleRoutes.includes(route));
    expect(apiRoutes.map((route) => route.RouteKey).sort()).toEqual([
      'DELETE /sessions/{id}',
      'GET /approvals',
      'GET /reviews',
      'GET /sessions',
      'GET /sessions/{id}',
      'GET /sessions/{id}/audit',
      'GET /sessions/{id}/events',
      'GET /sessions/{id}/recording',
      'GET /targets',
      'GET /usage',
      'POST /reviews/{id}',
      'POST /sessions',
      'POST /sessions/{id}/approve',
      'POST /sessions/{id}/credentials',
      'POST /sessions/{id}/deny',
      'POST /sessions/{id}/extend',
    ]);
    for (const route of apiRoutes) {
      expect(route.AuthorizationType, route.RouteKey).toBe('JWT');
      expect(route.AuthorizerId).toEqual({ Ref: 'HttpApiAuthorizerJwt' });
    }
    const authorizer = resource('HttpApiAuthorizerJwt').Properties ?? {};
    expect(authorizer).toMatchObject({
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: 'https://issuer.example.com/', Audience: ['drawbridge'] },
    });
  });

  it('feeds provision one message at a time from a dead-lettered queue that outlasts it', () => {
    const [, mapping] = resourcesOfType('AWS::Lambda::EventSourceMapping')[0] ?? [];
    expect(mapping?.Properties).toMatchObject({
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      EventSourceArn: { 'Fn::GetAtt': ['ProvisionQueue', 'Arn'] },
    });
    const queue = resource('ProvisionQueue').Properties ?? {};
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': ['ProvisionDLQ', 'Arn'] },
      maxReceiveCount: 3,
    });
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn('provision').Timeout);
    for (const id of ['ProvisionQueue', 'ProvisionDLQ', 'ExpiryDLQ']) {
      expect(property(id, 'SqsManagedSseEnabled'), id).toBe(true);
    }
  });

  it('hears EC2 state changes and sweeps every minute; expire has no trigger of its own', () => {
    const rules = resourcesOfType('AWS::Events::Rule').map(([, rule]) => rule.Properties ?? {});
    const stateRule = rules.find((rule) => rule.EventPattern !== undefined);
    expect(stateRule?.EventPattern).toEqual({
      source: ['aws.ec2'],
      'detail-type': ['EC2 Instance State-change Notification'],
      detail: { state: ['running', 'shutting-down', 'terminated', 'stopping', 'stopped'] },
    });
    expect(rules.map((rule) => rule.ScheduleExpression).filter(Boolean)).toEqual([
      'rate(1 minute)',
    ]);
    const permissions = resourcesOfType('AWS::Lambda::Permission').map(([, permission]) =>
      text(permission.Properties?.FunctionName),
    );
    expect(permissions.some((name) => name.includes('ExpireLambdaFunction'))).toBe(false);
  });
});

// ---------------------------------------------------------------- alarms and dashboard

describe('alarms and dashboard', () => {
  interface AlarmProperties {
    Namespace?: string;
    MetricName?: string;
    Dimensions?: { Name: string; Value: unknown }[];
    Statistic?: string;
    Period?: number;
    EvaluationPeriods: number;
    Threshold: number;
    ComparisonOperator: string;
    TreatMissingData: string;
    AlarmActions: unknown[];
    Metrics?: {
      Id: string;
      Expression?: string;
      MetricStat?: { Metric: { MetricName: string } };
    }[];
  }
  const alarm = (id: string) => resource(id).Properties as unknown as AlarmProperties;
  const ourDimensions = [
    { Name: 'service', Value: METRICS_SERVICE },
    { Name: 'stage', Value: STAGE },
  ];
  const shippedPolicy = () =>
    parsePolicy(readFileSync(join(REPO_ROOT, 'policy', 'drawbridge.policy.yaml'), 'utf8'));

  it('sends every alarm to the ops topic', () => {
    expect(resource('OpsTopic').Type).toBe('AWS::SNS::Topic');
    const alarms = resourcesOfType('AWS::CloudWatch::Alarm');
    expect(alarms.map(([id]) => id)).toEqual(
      expect.arrayContaining([
        'BastionPastWindowAlarm',
        'ExpiryDlqAlarm',
        'OrphansReapedAlarm',
        'ProvisionDlqAlarm',
        'ProvisioningFailureRateAlarm',
        'ReaperSilentAlarm',
      ]),
    );
    for (const [id] of alarms) expect(alarm(id).AlarmActions, id).toEqual([{ Ref: 'OpsTopic' }]);
  });

  it('alarms when a bastion outlives its window by more than the self-destruct grace', () => {
    const past = alarm('BastionPastWindowAlarm');
    expect(past).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: 'OldestOverdueSeconds',
      Dimensions: ourDimensions,
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(past.Threshold).toBe(shippedPolicy().selfDestructGraceMinutes * 60);
    // and when the reaper that measures it stops reporting
    expect(alarm('ReaperSilentAlarm')).toMatchObject({
      MetricName: 'OldestOverdueSeconds',
      Dimensions: ourDimensions,
      Statistic: 'SampleCount',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('alarms on any orphan reaped and on a dead letter in either queue', () => {
    expect(alarm('OrphansReapedAlarm')).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: 'OrphansReaped',
      Dimensions: ourDimensions,
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    for (const [id, queue] of [
      ['ExpiryDlqAlarm', 'ExpiryDLQ'],
      ['ProvisionDlqAlarm', 'ProvisionDLQ'],
    ] as const) {
      expect(alarm(id), id).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
        Statistic: 'Maximum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
  });

  it('alarms on a provisioning failure rate above 20 in 100 requests', () => {
    const rate = alarm('ProvisioningFailureRateAlarm');
    expect(rate).toMatchObject({ Threshold: 20, ComparisonOperator: 'GreaterThanThreshold' });
    const byId = new Map((rate.Metrics ?? []).map((metric) => [metric.Id, metric]));
    expect(byId.get('failures')?.MetricStat?.Metric.MetricName).toBe('ProvisioningFailures');
    expect(byId.get('requested')?.MetricStat?.Metric.MetricName).toBe('SessionsRequested');
    expect(byId.get('failurePercent')?.Expression).toBe(
      'IF(FILL(requested, 0) >= 5, 100 * FILL(failures, 0) / requested, 0)',
    );
  });

  it('watches only metrics the code emits, and charts every one of them', () => {
    const names = new Set(Object.keys(METRIC_UNITS));
    for (const [id] of resourcesOfType('AWS::CloudWatch::Alarm')) {
      const properties = alarm(id);
      if (properties.Namespace === METRICS_NAMESPACE) {
        expect(names.has(properties.MetricName ?? ''), id).toBe(true);
      }
      for (const metric of properties.Metrics ?? []) {
        if (metric.MetricStat)
          expect(names.has(metric.MetricStat.Metric.MetricName), id).toBe(true);
      }
    }
    const body = property<{ 'Fn::Sub': string }>('OpsDashboard', 'DashboardBody')['Fn::Sub'];
    const dashboard = JSON.parse(body.replace(/\$\{[^}]+\}/g, 'x')) as {
      widgets: { properties: { metrics?: unknown[][] } }[];
    };
    const charted = new Set(
      dashboard.widgets.flatMap((widget) =>
        (widget.properties.metrics ?? [])
          .filter((row) => row[0] === METRICS_NAMESPACE)
          .map((row) => row[1]),
      ),
    );
    expect([...charted].sort()).toEqual([...names].sort());
    expect(body).toContain('"stage", "test"');
  });

  it('gives the usage report the API timeout and read-only access to the index it reads', () => {
    const usage = resource(logicalId('usage')).Properties ?? {};
    expect(usage.Timeout).toBeLessThanOrEqual(29);
    const reads = roleStatements(roleOf('usage')).filter((statement) =>
      actionsOf(statement).includes('dynamodb:Query'),
    );
    expect(reads.flatMap(resourcesOf).join(' ')).toContain('/index/byCreated');
    const onTable = reads.find((statement) => statement.Sid === 'ReaperDays');
    expect(
      conditionValue(onTable as IamStatement, 'ForAllValues:StringEquals', 'dynamodb:LeadingKeys'),
    ).toEqual(['REAPER']);
  });
});

// ---------------------------------------------------------------- state and bastion

describe('resources', () => {
  it('declares the sessions table exactly as lib/aws/table-definition.ts does', () => {
    const table = resource('SessionsTable');
    expect(table.DeletionPolicy).toBe('Retain');
    const properties = table.Properties ?? {};
    expect(properties).toMatchObject({
      TableName: `drawbridge-${STAGE}`,
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    expect(TTL_ATTRIBUTE).toBe('purgeAfter');
    expect(properties.KeySchema).toEqual(TABLE_DEFINITION.KeySchema);
    const byName = <T extends { AttributeName?: string; IndexName?: string }>(items: T[]) =>
      [...items].sort((a, b) =>
        String(a.IndexName ?? a.AttributeName).localeCompare(
          String(b.IndexName ?? b.AttributeName),
        ),
      );
    expect(byName(properties.AttributeDefinitions as { AttributeName: string }[])).toEqual(
      byName(TABLE_DEFINITION.AttributeDefinitions),
    );
    expect(byName(properties.GlobalSecondaryIndexes as { IndexName: string }[])).toEqual(
      byName(TABLE_DEFINITION.GlobalSecondaryIndexes),
    );
    expect(Object.values(INDEX).sort()).toEqual(['byCreated', 'byDue', 'byInstance', 'byOwner']);
  });

  it('hardens the bastion launch template', () => {
    const data = property<Record<string, unknown>>('BastionLaunchTemplate', 'LaunchTemplateData');
    expect(property('BastionLaunchTemplate', 'LaunchTemplateName')).toBe(
      `drawbridge-${STAGE}-bastion`,
    );
    expect(data.MetadataOptions).toEqual({
      HttpEndpoint: 'enabled',
      HttpTokens: 'required',
      HttpPutResponseHopLimit: 1,
    });
    expect(data.BlockDeviceMappings).toEqual([
      {
        DeviceName: '/dev/xvda',
        Ebs: { VolumeType: 'gp3', VolumeSize: 8, Encrypted: true, DeleteOnTermination: true },
      },
    ]);
    expect(data.InstanceInitiatedShutdownBehavior).toBe('terminate');
    expect(data).not.toHaveProperty('KeyName');
    expect(data.Monitoring).toEqual({ Enabled: false });
    // EC2 resolves the baked image's parameter at each launch, CloudFormation never does
    expect(data.ImageId).toBe(`resolve:ssm:/drawbridge/${STAGE}/bastion-ami`);
    expect(data.IamInstanceProfile).toEqual({
      Arn: { 'Fn::GetAtt': ['BastionInstanceProfile', 'Arn'] },
    });
    expect(property('BastionInstanceProfile', 'Roles')).toEqual([{ Ref: 'BastionRole' }]);
  });

  it('keeps bastion logs 90 days in the stage log group and names the schedule group', () => {
    expect(property('BastionLogGroup', 'LogGroupName')).toBe(`/drawbridge/${STAGE}/sessions`);
    expect(property('BastionLogGroup', 'RetentionInDays')).toBe(90);
    expect(property('ExpiryScheduleGroup', 'Name')).toBe(`drawbridge-${STAGE}`);
    for (const [id, group] of resourcesOfType('AWS::Logs::LogGroup')) {
      expect(group.Properties?.RetentionInDays, id).toBe(90);
    }
  });

  it('outputs the API URL, table name and launch template id', () => {
    expect(Object.keys(template.Outputs ?? {})).toEqual(
      expect.arrayContaining(['ApiUrl', 'TableName', 'LaunchTemplateId']),
    );
  });
});

// ---------------------------------------------------------------- artifacts

describe('artifacts', () => {
  it('zips one ESM bundle per function with the validated policy (JSON) beside it', () => {
    expect(Object.keys(service.artifacts).sort()).toEqual([...FUNCTIONS].sort());
    for (const name of FUNCTIONS) {
      const handler = String(resource(logicalId(name)).Properties?.Handler);
      const entries = listZip(service.artifacts[name] ?? '').map((entry) => entry.name);
      expect(entries, name).toContain('.build/policy/drawbridge.policy.json');
      expect(entries, name).not.toContain('policy/drawbridge.policy.yaml');
      expect(entries, name).toContain(`${handler.slice(0, handler.lastIndexOf('.'))}.mjs`);
      // nothing else: no node_modules, no sources, no tests
      // nothing else: no node_modules, no sources, no tests (the console also ships its build)
      const extra = entries.filter(
        (entry) =>
          !/\.mjs(\.map)?$/.test(entry) && entry !== '.build/policy/drawbridge.policy.json',
      );
      if (name === 'console') {
        expect(extra).toContain('dist/console/index.html');
        expect(extra.every((entry) => entry.startsWith('dist/console/'))).toBe(true);
      } else expect(extra, name).toEqual([]);
    }
  });

  it('ships the policy validated at package time, as JSON the functions validate again', () => {
    const shipped = readZipEntry(
      service.artifacts.requestSession ?? '',
      '.build/policy/drawbridge.policy.json',
    ).toString('utf8');
    const source = parsePolicy(
      readFileSync(join(REPO_ROOT, 'policy', 'drawbridge.policy.yaml'), 'utf8'),
    );
    expect(JSON.parse(shipped)).toEqual(JSON.parse(JSON.stringify(source)));
    expect(parsePolicyJson(shipped)).toEqual(source);
  });
});

// ---------------------------------------------------------------- policy validation at build time

describe('policy validation', () => {
  const require = createRequire(import.meta.url);
  interface PluginInstance {
    hooks: Record<string, () => void>;
  }
  type PluginClass = new (
    serverless: unknown,
    options: unknown,
    utils: { log: Record<string, (message: string) => void> },
  ) => PluginInstance;
  const ValidatePolicy = require('../../serverless/validate-policy.cjs') as PluginClass;
  class ServerlessError extends Error {}
  const quiet = { log: { notice() {}, verbose() {} } };
  const plugin = (policyFile: string) =>
    new ValidatePolicy(
      {
        serviceDir: REPO_ROOT,
        service: { custom: { drawbridge: { policyFile } } },
        classes: { Error: ServerlessError },
      },
      {},
      quiet,
    );

  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'drawbridge-policy-'));
  });
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  const brokenPolicy = () => {
    const good = readFileSync(join(REPO_ROOT, 'policy', 'drawbridge.policy.yaml'), 'utf8');
    const broken = good.replace('activeSessionsPerUser: 2', 'activeSessionsPerUser: 0');
    expect(broken).not.toBe(good);
    const file = join(scratch, 'broken.policy.yaml');
    writeFileSync(file, broken);
    return file;
  };

  const check = (...args: string[]) =>
    spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'policy-check.ts'), ...args], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });

  it('accepts the shipped policy and prints what each group may do', () => {
    const result = check();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(
      /^dba\s+prod-db\s+ec2\s+10\.0\.1\.20:5432\s+jump-only\s+30m\s+120m\s+203\.0\.113\.0\/24\s+-$/m,
    );
    expect(result.stdout).toMatch(
      /^dev\s+demo\s+local\s+127\.0\.0\.1:7777\s+jump-only\s+15m\s+60m\s+any address\s+-$/m,
    );
    expect(result.stdout).toContain('admin group:  drawbridge-admins');
    expect(result.stdout).toContain('quota:        2 live sessions per user');
  });

  it('shows approval, MFA and break-glass, the conditions a reviewer must not miss', () => {
    const file = join(scratch, 'guarded.policy.yaml');
    writeFileSync(
      file,
      [
        'version: 1',
        'adminGroup: admins',
        'quota: { activeSessionsPerUser: 1 }',
        'breakGlass: { groups: [oncall], maxDurationMinutes: 60, quota: 1, targets: [db] }',
        'targets:',
        '  - name: db',
        '    mode: local',
        '    host: 127.0.0.1',
        '    port: 5432',
        '    allowedGroups: [dba, analysts]',
        '    defaultDurationMinutes: 15',
        '    maxDurationMinutes: 30',
        '    approval: { approverGroups: [leads], timeoutMinutes: 20 }',
        '    requireMfa: { maxAgeMinutes: 10 }',
        '',
      ].join('\n'),
    );
    const result = check(file);
    expect(result.stderr).toBe('');
    for (const group of ['analysts', 'dba']) {
      expect(result.stdout).toMatch(
        new RegExp(`^${group}\\s+db\\s.*approval by leads within 20m, MFA within 10m$`, 'm'),
      );
    }
    expect(result.stdout).toContain('break-glass:  groups oncall; targets db; max 60m; quota 1');
  });

  it('rejects a broken policy with exit status 1 and the field at fault', () => {
    const file = brokenPolicy();
    const result = check(file);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`${file} is invalid: quota.activeSessionsPerUser:`);
  });

  it('rejects a missing file and malformed YAML', () => {
    expect(check(join(scratch, 'absent.yaml')).stderr).toContain('absent.yaml: no such file');
    const file = join(scratch, 'malformed.yaml');
    writeFileSync(file, 'version: 1\ntargets: [unclosed\n');
    const result = check(file);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('is not valid YAML');
  });

  it('makes the osls plugin refuse to package a broken policy, naming the field', () => {
    const file = brokenPolicy();
    const hook = plugin(file).hooks['before:package:initialize'];
    expect(hook).toBeTypeOf('function');
    expect(() => hook?.()).toThrow(ServerlessError);
    expect(() => hook?.()).toThrow(/Drawbridge policy rejected: .*quota\.activeSessionsPerUser/);
  });

  it('lets the osls plugin pass the shipped policy, and also guards offline and single-function deploys', () => {
    const instance = plugin('policy/drawbridge.policy.yaml');
    expect(() => instance.hooks['before:package:initialize']?.()).not.toThrow();
    expect(Object.keys(instance.hooks)).toEqual(
      expect.arrayContaining(['before:deploy:function:initialize', 'before:offline:start:init']),
    );
  });

  it('packaging ran the check (osls log)', () => {
    expect(service.log).toContain('Drawbridge policy policy/drawbridge.policy.yaml is valid');
  });
});

// ---------------------------------------------------------------- eice mode

describe('eice mode', () => {
  const eiceRoleArn = `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/drawbridge-${STAGE}-eu-west-1-eice-session`;

  it('lets only the credentials function assume the eice role, naming the person and tagging the session', () => {
    const role = resource('EiceSessionRole').Properties as unknown as RoleProperties & {
      RoleName: string;
      MaxSessionDuration: number;
    };
    expect(role.RoleName).toBe(`drawbridge-${STAGE}-eu-west-1-eice-session`);
    expect(role.MaxSessionDuration).toBe(3600);
    const trust = role.AssumeRolePolicyDocument.Statement;
    expect(trust.map((statement) => statement.Principal)).toEqual([
      { AWS: { 'Fn::GetAtt': ['IssueCredentialsRole', 'Arn'] } },
      { AWS: { 'Fn::GetAtt': ['IssueCredentialsRole', 'Arn'] } },
      { AWS: { 'Fn::GetAtt': ['IssueCredentialsRole', 'Arn'] } },
    ]);
    expect(trust.map((statement) => statement.Action)).toEqual([
      'sts:AssumeRole',
      'sts:SetSourceIdentity',
      'sts:TagSession',
    ]);
    expect(conditionValue(trust[0] as IamStatement, 'StringLike', 'sts:RoleSessionName')).toBe(
      's-*',
    );
    expect(fnEnv('issueCredentials').EICE_SESSION_ROLE_ARN).toEqual({ 'Fn::Sub': eiceRoleArn });
  });

  it('caps every grant at hour-long tunnels through, and keys to, resources opted in for this stage', () => {
    const statements = roleStatements('EiceSessionRole');
    expect(statements.flatMap(actionsOf)).toEqual([
      'ec2-instance-connect:OpenTunnel',
      'ec2-instance-connect:SendSSHPublicKey',
    ]);
    const [tunnel, key] = statements as unknown as [IamStatement, IamStatement];
    expect(resourcesOf(tunnel)).toEqual([expect.stringContaining(':instance-connect-endpoint/*')]);
    expect(resourcesOf(key)).toEqual([expect.stringContaining(':instance/*')]);
    for (const statement of statements) {
      expect(statement.Condition?.StringEquals).toEqual({
        'ec2:ResourceTag/drawbridge:eice-target': STAGE,
      });
    }
    expect(
      conditionValue(tunnel, 'NumericLessThanEquals', 'ec2-instance-connect:maxTunnelDuration'),
    ).toBe('3600');
    // nothing else in the stack may open tunnels or push keys
    const others = permissionStatements().filter(
      (statement) =>
        statement.role !== 'EiceSessionRole' &&
        actionsOf(statement).some((action) => action.startsWith('ec2-instance-connect:')),
    );
    expect(others).toEqual([]);
  });
});

// ---------------------------------------------------------------- ssm mode

describe('ssm mode', () => {
  const sessionRoleArn = `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/drawbridge-${STAGE}-eu-west-1-ssm-session`;

  it('lets only the credentials function assume the session role, naming the person and tagging the session', () => {
    const role = resource('SsmSessionRole').Properties as unknown as RoleProperties & {
      RoleName: string;
      MaxSessionDuration: number;
    };
    expect(role.RoleName).toBe(`drawbridge-${STAGE}-eu-west-1-ssm-session`);
    // role chaining caps the grant at an hour anyway; the role says so too
    expect(role.MaxSessionDuration).toBe(3600);
    const trust = role.AssumeRolePolicyDocument.Statement;
    expect(trust.map((statement) => statement.Principal)).toEqual([
      { AWS: { 'Fn::GetAtt': ['IssueCredentialsRole', 'Arn'] } },
      { AWS: { 'Fn::GetAtt': ['IssueCredentialsRole', 'Arn'] } },
      { AWS: { 'Fn::GetAtt': ['IssueCredentialsRole', 'Arn'] } },
    ]);
    expect(trust.map((statement) => statement.Action)).toEqual([
      'sts:AssumeRole',
      'sts:SetSourceIdentity',
      'sts:TagSession',
    ]);
    for (const statement of trust) expect(statement.Effect).toBe('Allow');
    expect(conditionValue(trust[0] as IamStatement, 'StringLike', 'sts:RoleSessionName')).toBe(
      's-*',
    );
    expect(
      conditionValue(trust[2] as IamStatement, 'ForAllValues:StringEquals', 'aws:TagKeys'),
    ).toEqual(['drawbridge:session', 'drawbridge:owner', 'drawbridge:break-glass']);

    // and nobody else may even ask: the only sts:AssumeRole grant in the stack is that role's
    const assumers = permissionStatements().filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('sts:')),
    );
    expect(assumers.map((statement) => statement.role)).toEqual(['IssueCredentialsRole']);
    expect(resourcesOf(assumers[0] as IamStatement)).toEqual([
      text({ 'Fn::Sub': sessionRoleArn }),
      text({ 'Fn::Sub': sessionRoleArn.replace('-ssm-session', '-eice-session') }),
    ]);
    expect(fnEnv('issueCredentials').SSM_SESSION_ROLE_ARN).toEqual({ 'Fn::Sub': sessionRoleArn });
  });

  it('caps every grant at starting, resuming and ending sessions on opted-in instances with Drawbridge documents', () => {
    const statements = roleStatements('SsmSessionRole');
    expect(new Set(statements.flatMap(actionsOf))).toEqual(
      new Set(['ssm:StartSession', 'ssm:ResumeSession', 'ssm:TerminateSession']),
    );
    for (const statement of statements) {
      const resources = resourcesOf(statement);
      const onInstances = resources.some((arn) => /:(instance|managed-instance)\//.test(arn));
      if (onInstances) {
        const tags = statement.Condition?.StringEquals ?? {};
        expect(Object.values(tags), statement.Sid).toEqual([STAGE]);
        expect(Object.keys(tags)[0], statement.Sid).toMatch(
          /^ssm:resourceTag\/drawbridge:(ssm-target|stage)$/,
        );
      } else if (actionsOf(statement).includes('ssm:StartSession')) {
        expect(resources.every((arn) => arn.includes(':document/'))).toBe(true);
        expect(resources.join(' ')).not.toContain('SSM-SessionManagerRunShell');
      } else {
        expect(resources).toEqual([expect.stringContaining(':session/s-*')]);
      }
    }
  });

  it('lets the functions that end sessions terminate only Drawbridge-named Session Manager sessions', () => {
    for (const statement of permissionStatements()) {
      if (!actionsOf(statement).includes('ssm:TerminateSession')) continue;
      expect(resourcesOf(statement), `${statement.role} ${statement.Sid}`).toEqual([
        expect.stringMatching(/:session\/s-\*"/),
      ]);
    }
    for (const name of ['endSession', 'expire', 'reap', 'provision', 'onInstanceState']) {
      expect([...allowedActions(roleOf(name))], name).toEqual(
        expect.arrayContaining(['ssm:DescribeSessions', 'ssm:TerminateSession']),
      );
    }
    expect([...allowedActions(roleOf('requestSession'))]).toContain(
      'ssm:DescribeInstanceInformation',
    );
  });

  it('has no dependency cycle (the session role and the credentials function refer to each other by name)', () => {
    const ids = new Set(Object.keys(template.Resources));
    const edges = new Map(
      Object.entries(template.Resources).map(([id, r]) => [
        id,
        references({ ...r.Properties, DependsOn: r.DependsOn }, ids),
      ]),
    );
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (id: string, path: string[]): void => {
      if (state.get(id) === 'done') return;
      if (state.get(id) === 'visiting') throw new Error(`cycle: ${[...path, id].join(' -> ')}`);
      state.set(id, 'visiting');
      for (const next of edges.get(id) ?? []) visit(next, [...path, id]);
      state.set(id, 'done');
    };
    for (const id of ids) visit(id, []);
    expect(edges.get('SsmSessionRole')).toContain('IssueCredentialsRole');
  });

  it('gives a fresh ssm bastion the agent channel and its log stream only', () => {
    expect(new Set(roleStatements('SsmBastionRole').flatMap(actionsOf))).toEqual(
      new Set([
        'ssm:UpdateInstanceInformation',
        'ssmmessages:CreateControlChannel',
        'ssmmessages:CreateDataChannel',
        'ssmmessages:OpenControlChannel',
        'ssmmessages:OpenDataChannel',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'logs:DescribeLogStreams',
        'logs:DescribeLogGroups',
      ]),
    );
    expect(property('SsmBastionInstanceProfile', 'Roles')).toEqual([{ Ref: 'SsmBastionRole' }]);
  });

  it('streams session output to a KMS-encrypted log group through a stage Session document no longer than the policy allows', () => {
    expect(property('SsmSessionLogGroup', 'LogGroupName')).toBe(
      `/drawbridge/${STAGE}/ssm-sessions`,
    );
    expect(property('SsmSessionLogGroup', 'KmsKeyId')).toEqual({
      'Fn::GetAtt': ['SsmSessionLogsKey', 'Arn'],
    });
    expect(property('SsmSessionLogsKey', 'EnableKeyRotation')).toBe(true);
    const keyPolicy = property<PolicyDocument>('SsmSessionLogsKey', 'KeyPolicy');
    const forLogs = keyPolicy.Statement.find((statement) =>
      text(statement.Principal).includes('logs.'),
    );
    expect(text(forLogs?.Condition?.ArnEquals?.['kms:EncryptionContext:aws:logs:arn'])).toContain(
      `:log-group:/drawbridge/${STAGE}/ssm-sessions`,
    );

    expect(property('SessionPreferencesDocument', 'Name')).toBe(`drawbridge-${STAGE}-shell`);
    expect(property('SessionPreferencesDocument', 'DocumentType')).toBe('Session');
    const content = property<{ sessionType: string; inputs: Record<string, unknown> }>(
      'SessionPreferencesDocument',
      'Content',
    );
    expect(content.sessionType).toBe('Standard_Stream');
    expect(content.inputs).toMatchObject({
      cloudWatchLogGroupName: `/drawbridge/${STAGE}/ssm-sessions`,
      cloudWatchEncryptionEnabled: true,
      cloudWatchStreamingEnabled: true,
      runAsEnabled: false,
    });
    expect(Number(content.inputs.idleSessionTimeout)).toBeGreaterThanOrEqual(1);
    const policy = parsePolicy(
      readFileSync(join(REPO_ROOT, 'policy', 'drawbridge.policy.yaml'), 'utf8'),
    );
    const ssmMaximum = Math.max(
      ...policy.targets.filter((t) => t.mode === 'ssm').map((t) => t.maxDurationMinutes),
    );
    expect(Number.isFinite(ssmMaximum)).toBe(true);
    expect(Number(content.inputs.maxSessionDuration)).toBeGreaterThan(0);
    expect(Number(content.inputs.maxSessionDuration)).toBeLessThanOrEqual(ssmMaximum);
    expect(fnEnv('provision').SSM_SHELL_DOCUMENT).toBe(`drawbridge-${STAGE}-shell`);
  });
});

/** Logical ids a resource refers to (Ref, Fn::GetAtt, Fn::Sub, DependsOn). */
function references(
  value: unknown,
  ids: ReadonlySet<string>,
  found = new Set<string>(),
): Set<string> {
  if (Array.isArray(value)) for (const item of value) references(item, ids, found);
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string' && ids.has(inner)) found.add(inner);
      else if (key === 'Fn::GetAtt' && Array.isArray(inner) && ids.has(String(inner[0])))
        found.add(String(inner[0]));
      else if (key === 'Fn::Sub') {
        const body = Array.isArray(inner) ? String(inner[0]) : String(inner);
        for (const match of body.matchAll(/\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}/g)) {
          if (match[1] && ids.has(match[1])) found.add(match[1]);
        }
        if (Array.isArray(inner)) references(inner[1], ids, found);
      } else references(inner, ids, found);
    }
  }
  return found;
}

function fnEnv(name: string): Record<string, unknown> {
  const properties = resource(logicalId(name)).Properties as {
    Environment: { Variables: Record<string, unknown> };
  };
  return properties.Environment.Variables;
}

// Last: osls offline, in this file so that no other osls run overlaps it (offline.suite.ts).
await import('./offline.suite.ts');
