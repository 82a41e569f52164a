import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ForbiddenError, PolicyError, ValidationError } from '../../lib/domain/errors.ts';
import {
  decideAccess,
  findTarget,
  isAdmin,
  type Policy,
  parsePolicyJson,
  targetsFor,
  validatePolicy,
} from '../../lib/domain/policy.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';

const POLICY_YAML = `
version: 1
adminGroup: platform-admins
quota:
  activeSessionsPerUser: 2
targets:
  - name: prod-db
    description: Production Postgres
    mode: ec2
    host: 10.0.1.5
    port: 5432
    allowedGroups: [dba, sre]
    allowedSourceCidrs: [203.0.113.0/24, "2001:db8::/32"]
    defaultDurationMinutes: 30
    maxDurationMinutes: 60
    network:
      vpcId: vpc-0123456789abcdef0
      subnetIds: [subnet-0123456789abcdef0]
  - name: staging-app
    mode: ssm
    host: app.staging.internal
    port: 22
    allowedGroups: [developers]
    defaultDurationMinutes: 60
    maxDurationMinutes: 240
    access: shell
    instanceTypes: [t4g.micro, m7g.medium]
    ssm:
      instanceTags: { role: app, env: staging }
      documents: [shell, port-forwarding]
  - name: dev-box
    mode: local
    host: 127.0.0.1
    port: 22
    allowedGroups: [developers]
    defaultDurationMinutes: 15
    maxDurationMinutes: 15
`;

/** A plain object version of the policy, to break one field at a time. */
type Doc = Record<string, unknown>;
const doc = (): Doc => {
  const policy = parsePolicy(POLICY_YAML);
  return JSON.parse(JSON.stringify(policy)) as Doc;
};

const policyErrorOf = (yamlText: string): string => {
  try {
    parsePolicy(yamlText, 'policy/drawbridge.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    return (error as Error).message;
  }
  throw new Error('policy was accepted');
};

describe('parsePolicy: a valid policy', () => {
  it('parses, with defaults applied', () => {
    const policy = parsePolicy(POLICY_YAML);
    expect(policy.provisioningDeadlineMinutes).toBe(10);
    expect(policy.selfDestructGraceMinutes).toBe(5);
    expect(policy.retentionDays).toBe(90);
    expect(policy.quota.activeSessionsPerUser).toBe(2);
    const [prod, staging, dev] = policy.targets;
    expect(prod?.access).toBe('jump-only');
    expect(prod?.instanceTypes).toEqual(['t4g.nano']);
    expect(prod?.allowedSourceCidrs).toEqual(['203.0.113.0/24', '2001:db8::/32']);
    expect(staging?.access).toBe('shell');
    expect(staging?.instanceTypes).toEqual(['t4g.micro', 'm7g.medium']);
    expect(dev?.allowedSourceCidrs).toBeUndefined();
  });

  it('keeps explicit values over defaults', () => {
    const text = `${POLICY_YAML}provisioningDeadlineMinutes: 3\nselfDestructGraceMinutes: 1\nretentionDays: 7\n`;
    const policy = parsePolicy(text);
    expect([
      policy.provisioningDeadlineMinutes,
      policy.selfDestructGraceMinutes,
      policy.retentionDays,
    ]).toEqual([3, 1, 7]);
  });

  it('accepts the same document already parsed (validatePolicy) and round-trips through YAML', () => {
    const policy = parsePolicy(POLICY_YAML);
    expect(validatePolicy(JSON.parse(JSON.stringify(policy)))).toEqual(policy);
    expect(parsePolicy(stringify(policy, { aliasDuplicateObjects: false }))).toEqual(policy);
  });

  it('findTarget and isAdmin', () => {
    const policy = parsePolicy(POLICY_YAML);
    expect(findTarget(policy, 'staging-app')?.mode).toBe('ssm');
    expect(findTarget(policy, 'nope')).toBeUndefined();
    expect(isAdmin(policy, { subject: 'a', groups: ['sre', 'platform-admins'] })).toBe(true);
    expect(isAdmin(policy, { subject: 'a', groups: ['sre'] })).toBe(false);
  });
});

describe('parsePolicy: every bad field is named', () => {
  const DELETE = Symbol('delete');
  const NETWORK = { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0'] };
  /** [label, path to the field, new value (or DELETE), what the message must say] */
  const cases: [string, (string | number)[], unknown, RegExp][] = [
    ['version 2', ['version'], 2, /: version: /],
    ['missing adminGroup', ['adminGroup'], DELETE, /: adminGroup: /],
    ['adminGroup with a space', ['adminGroup'], 'platform admins', /adminGroup: a group name/],
    ['quota 0', ['quota', 'activeSessionsPerUser'], 0, /quota\.activeSessionsPerUser: /],
    ['quota 101', ['quota', 'activeSessionsPerUser'], 101, /quota\.activeSessionsPerUser: /],
    ['deadline 31', ['provisioningDeadlineMinutes'], 31, /provisioningDeadlineMinutes: /],
    ['grace 0', ['selfDestructGraceMinutes'], 0, /selfDestructGraceMinutes: /],
    ['retention 1.5', ['retentionDays'], 1.5, /retentionDays: /],
    ['no targets', ['targets'], [], /: targets: /],
    ['port 70000', ['targets', 0, 'port'], 70000, /targets\[0\]\.port: /],
    ['port 0', ['targets', 0, 'port'], 0, /targets\[0\]\.port: /],
    ['port "22"', ['targets', 0, 'port'], '22', /targets\[0\]\.port: /],
    ['port of the third target', ['targets', 2, 'port'], -1, /targets\[2\]\.port: /],
    ['upper-case name', ['targets', 0, 'name'], 'Prod', /targets\[0\]\.name: lower-case/],
    ['mode k8s', ['targets', 0, 'mode'], 'k8s', /targets\[0\]\.mode: /],
    ['host with a space', ['targets', 1, 'host'], 'app .internal', /targets\[1\]\.host: /],
    ['host with a quote', ['targets', 1, 'host'], 'db".internal', /targets\[1\]\.host: /],
    ['host with a zone id', ['targets', 0, 'host'], 'fe80::1%eth0', /targets\[0\]\.host: /],
    ['no allowed groups', ['targets', 0, 'allowedGroups'], [], /targets\[0\]\.allowedGroups: /],
    [
      'bad group',
      ['targets', 0, 'allowedGroups'],
      ['dba', 'a"b'],
      /targets\[0\]\.allowedGroups\[1\]: a group name/,
    ],
    [
      'bad source cidr',
      ['targets', 0, 'allowedSourceCidrs'],
      ['203.0.113.0/24', '203.0.113.0/33'],
      /targets\[0\]\.allowedSourceCidrs\[1\]: a CIDR block/,
    ],
    [
      'duration 0',
      ['targets', 0, 'defaultDurationMinutes'],
      0,
      /targets\[0\]\.defaultDurationMinutes: /,
    ],
    [
      'max over a day',
      ['targets', 0, 'maxDurationMinutes'],
      1441,
      /targets\[0\]\.maxDurationMinutes: /,
    ],
    [
      'default > max',
      ['targets', 0, 'defaultDurationMinutes'],
      90,
      /targets\[0\]\.defaultDurationMinutes: must not exceed maxDurationMinutes/,
    ],
    ['access root', ['targets', 0, 'access'], 'root', /targets\[0\]\.access: /],
    [
      'ec2 without network',
      ['targets', 0, 'network'],
      DELETE,
      /targets\[0\]\.network: is required for mode ec2/,
    ],
    [
      'ec2 with a DNS host',
      ['targets', 0, 'host'],
      'db.internal',
      /targets\[0\]\.host: must be an IP address for mode ec2/,
    ],
    ['bad vpc id', ['targets', 0, 'network', 'vpcId'], 'vpc-XYZ', /targets\[0\]\.network\.vpcId: /],
    [
      'bad subnet id',
      ['targets', 0, 'network', 'subnetIds'],
      ['subnet-1'],
      /targets\[0\]\.network\.subnetIds\[0\]: /,
    ],
    [
      'bad instance type',
      ['targets', 1, 'instanceTypes'],
      ['huge'],
      /targets\[1\]\.instanceTypes\[0\]: /,
    ],
    [
      'x86 instance type with the arm64 launch template',
      ['targets', 1, 'instanceTypes'],
      ['t4g.nano', 't3.nano'],
      /targets\[1\]\.instanceTypes\[1\]: a Graviton \(arm64\) instance type/,
    ],
    ['unknown top-level key', ['owner'], 'x', /\(root\): Unrecognized key: "owner"/],
    ['unknown target key', ['targets', 0, 'sudo'], true, /targets\[0\]: Unrecognized key: "sudo"/],
    [
      'unknown network key',
      ['targets', 0, 'network'],
      { ...NETWORK, cidr: '0.0.0.0/0' },
      /targets\[0\]\.network: Unrecognized key: "cidr"/,
    ],
    [
      'duplicate target names',
      ['targets', 2, 'name'],
      'prod-db',
      /targets\[2\]\.name: duplicate target 'prod-db'/,
    ],
  ];

  function setAt(target: unknown, path: (string | number)[], value: unknown): void {
    const [key, ...rest] = path;
    if (key === undefined || typeof target !== 'object' || target === null)
      throw new Error('bad path');
    const record = target as Record<string | number, unknown>;
    if (rest.length > 0) setAt(record[key], rest, value);
    else if (value === DELETE) delete record[key];
    else record[key] = value;
  }

  it.each(cases)('%s', (_label, path, value, message) => {
    const d = doc();
    setAt(d, path, value);
    const reason = policyErrorOf(stringify(d, { aliasDuplicateObjects: false }));
    expect(reason).toMatch(/^policy\/drawbridge\.yaml is invalid: /);
    expect(reason).toMatch(message);
  });

  it('a __proto__ key is an unknown key, not a prototype', () => {
    const text = `${POLICY_YAML}__proto__: { adminGroup: x }\n`;
    expect(policyErrorOf(text)).toMatch(/\(root\): Unrecognized key: "__proto__"/);
  });

  it('YAML aliases are refused (no billion laughs)', () => {
    const text = POLICY_YAML.replace(
      'allowedGroups: [dba, sre]',
      'allowedGroups: &groups [dba, sre]',
    ).replace('allowedGroups: [developers]', 'allowedGroups: *groups');
    expect(policyErrorOf(text)).toMatch(/not valid YAML/);
    const laughs = 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\nd: [*c,*c]\n';
    expect(policyErrorOf(laughs)).toMatch(/not valid YAML/);
  });

  it.each([
    ['empty', ''],
    ['a scalar', 'just text'],
    ['a list', '- 1\n- 2'],
    ['two documents', `${POLICY_YAML}---\nversion: 1\n`],
    ['duplicate keys', `${POLICY_YAML}version: 1\n`],
    ['broken syntax', 'version: [1\n'],
  ])('%s is a PolicyError', (_label, text) => {
    expect(() => parsePolicy(text)).toThrow(PolicyError);
  });
});

describe('decideAccess', () => {
  const policy: Policy = parsePolicy(POLICY_YAML);
  const dba = { subject: 'alice', groups: ['dba'] };
  const dev = { subject: 'bob', groups: ['developers', 'everyone'] };

  it('grants the default duration when none is asked for', () => {
    const decision = decideAccess(policy, dba, { target: 'prod-db', sourceIp: '203.0.113.9' });
    expect(decision.mode).toBe('ec2');
    expect(decision.durationMinutes).toBe(30);
    expect(decision.target.name).toBe('prod-db');
  });

  it('grants an explicit duration up to the maximum', () => {
    expect(
      decideAccess(policy, dba, { target: 'prod-db', sourceIp: '203.0.113.9', durationMinutes: 60 })
        .durationMinutes,
    ).toBe(60);
    expect(
      decideAccess(policy, dev, {
        target: 'staging-app',
        sourceIp: '198.51.100.1',
        durationMinutes: 1,
      }).mode,
    ).toBe('ssm');
  });

  it('an allowed IPv6 source inside allowedSourceCidrs', () => {
    expect(
      decideAccess(policy, dba, { target: 'prod-db', sourceIp: '2001:db8:1::9' }).durationMinutes,
    ).toBe(30);
  });

  it('an unknown target is a ValidationError naming it and the targets the caller may open', () => {
    const allowed = targetsFor(policy, dba).map((target) => target.name);
    expect(allowed.length).toBeGreaterThan(0);
    expect(allowed.length).toBeLessThan(policy.targets.length);
    expect(() =>
      decideAccess(policy, dba, { target: 'prod-dbx', sourceIp: '203.0.113.9' }),
    ).toThrow(
      new ValidationError(`unknown target 'prod-dbx'; you may open: ${allowed.join(', ')}`),
    );
    expect(() =>
      decideAccess(policy, { ...dba, groups: [] }, { target: 'x', sourceIp: '203.0.113.9' }),
    ).toThrow(new ValidationError("unknown target 'x'; your groups may open no target"));
  });

  it('a group not allowed is a ForbiddenError', () => {
    expect(() => decideAccess(policy, dev, { target: 'prod-db', sourceIp: '203.0.113.9' })).toThrow(
      ForbiddenError,
    );
    expect(() =>
      decideAccess(
        policy,
        { subject: 'eve', groups: [] },
        { target: 'dev-box', sourceIp: '127.0.0.1' },
      ),
    ).toThrow(ForbiddenError);
  });

  it.each([
    '203.0.114.9',
    '198.51.100.1',
    '2001:db9::1',
    '::ffff:198.51.100.1',
    'not-an-ip',
    'fe80::1%eth0',
  ])('a source %s outside allowedSourceCidrs is a ForbiddenError', (sourceIp) => {
    expect(() => decideAccess(policy, dba, { target: 'prod-db', sourceIp })).toThrow(
      /may not be opened from/,
    );
    expect(() => decideAccess(policy, dba, { target: 'prod-db', sourceIp })).toThrow(
      ForbiddenError,
    );
  });

  it('a target without allowedSourceCidrs takes any source', () => {
    expect(
      decideAccess(policy, dev, { target: 'dev-box', sourceIp: '2001:db8::42' }).durationMinutes,
    ).toBe(15);
  });

  it('a duration over the maximum is a ValidationError naming the limit', () => {
    expect(() =>
      decideAccess(policy, dba, {
        target: 'prod-db',
        sourceIp: '203.0.113.9',
        durationMinutes: 61,
      }),
    ).toThrow(
      new ValidationError("durationMinutes 61 exceeds the maximum of 60 for target 'prod-db'"),
    );
  });

  it.each([0, -5, 1.5, Number.NaN])(
    'a duration of %d minutes is a ValidationError',
    (durationMinutes) => {
      expect(() =>
        decideAccess(policy, dba, { target: 'prod-db', sourceIp: '203.0.113.9', durationMinutes }),
      ).toThrow(ValidationError);
    },
  );
});

describe('property: parsePolicy only ever throws PolicyError', () => {
  const yamlish = fc
    .array(
      fc.oneof(
        fc.constantFrom(
          'version: 1',
          'targets:',
          '  - name: x',
          '    port: 22',
          'quota: {activeSessionsPerUser: 1}',
          '&a',
          '*a',
          '<<: *a',
          '!!binary aGk=',
          '!!js/function x',
          '---',
          ': b',
          '__proto__: {polluted: 1}',
          'constructor: {prototype: {x: 1}}',
          '"\\u0000"',
        ),
        fc.string({ maxLength: 20 }),
      ),
      { maxLength: 10 },
    )
    .map((lines) => lines.join('\n'));

  it('on random strings, YAML-ish fragments and broken copies of a real policy', () => {
    const broken = fc
      .tuple(fc.nat(), fc.nat({ max: 50 }), fc.string({ maxLength: 5 }))
      .map(([at, cut, insert]) => {
        const i = at % POLICY_YAML.length;
        return `${POLICY_YAML.slice(0, i)}${insert}${POLICY_YAML.slice(i + cut)}`;
      });
    fc.assert(
      fc.property(fc.oneof(fc.string(), yamlish, broken), (text) => {
        try {
          parsePolicy(text);
        } catch (error) {
          expect(error).toBeInstanceOf(PolicyError);
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parsePolicy: YAML tags', () => {
  it.each([
    ['a CloudFormation tag', 'host: !Ref DbHost'],
    ['a js tag', 'host: !!js/function f'],
    ['a local tag', 'host: !custom 127.0.0.1'],
  ])('%s is refused rather than read as a string', (_label, line) => {
    const text = POLICY_YAML.replace('host: 127.0.0.1', line);
    expect(text).not.toBe(POLICY_YAML);
    expect(policyErrorOf(text)).toMatch(/not valid YAML: .*tag/i);
  });

  it('the standard !!str tag still works (and the schema judges the value)', () => {
    const text = POLICY_YAML.replace('port: 5432', 'port: !!str 5432');
    expect(policyErrorOf(text)).toMatch(/targets\[0\]\.port:/);
  });
});

describe('parsePolicyJson: the JSON the package step writes', () => {
  it('reads back exactly the policy the YAML validated to', () => {
    const policy = parsePolicy(POLICY_YAML);
    expect(parsePolicyJson(JSON.stringify(policy))).toEqual(policy);
  });

  it('refuses text that is not JSON with a PolicyError naming the file', () => {
    fc.assert(
      fc.property(
        fc.string().filter((text) => {
          try {
            JSON.parse(text);
            return false;
          } catch {
            return true;
          }
        }),
        (text) => {
          expect(() => parsePolicyJson(text, 'policy.json')).toThrow(
            new PolicyError(`policy.json is not valid JSON: ${jsonError(text)}`),
          );
        },
      ),
    );
  });

  it('validates the JSON like the YAML: any JSON that is not a valid policy is refused', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(() => parsePolicyJson(JSON.stringify(value), 'policy.json')).toThrow(PolicyError);
      }),
    );
  });
});

function jsonError(text: string): string {
  try {
    JSON.parse(text);
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}
