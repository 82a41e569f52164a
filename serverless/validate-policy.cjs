'use strict';

// Refuses to package, deploy or run offline with an invalid access policy. The check itself is
// scripts/policy-check.ts (the same parsePolicy the functions run at cold start), started with
// the Node that runs osls so TypeScript is stripped natively and no second toolchain is needed.
//
// It also gives serverless.yml the variable source `${drawbridgePolicy:<fact>}`, so the IAM
// conditions on RunInstances and CreateSecurityGroup name exactly what the stage's policy
// allows: `subnetArns`, `vpcArns` (Fn::Sub ARNs, partition/region/account from the stack) and
// `instanceTypes`; and `${drawbridgePolicy:jsonFile}`, where the validated JSON the functions read is.

const { spawnSync } = require('node:child_process');
const path = require('node:path');

const DEFAULT_POLICY_FILE = 'policy/drawbridge.policy.yaml';

// The functions read the policy as JSON that this plugin writes at package (and offline) time, so
// that no function bundles a YAML parser; they validate it again at cold start. Same rule as
// policyJsonPath in scripts/policy-check.ts, which writes the file (a test keeps them equal).
const policyJsonPath = (file) =>
  path.join(
    '.build',
    (path.isAbsolute(file) ? path.basename(file) : file).replace(/\.ya?ml$/i, '').concat('.json'),
  );

function runCheck(serviceDir, args) {
  const script = path.join(serviceDir, 'scripts', 'policy-check.ts');
  return spawnSync(process.execPath, [script, ...args], { cwd: serviceDir, encoding: 'utf8' });
}

const arns = (kind, ids) =>
  ids.map((id) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:ec2:\${AWS::Region}:\${AWS::AccountId}:${kind}/${id}`,
  }));

class ValidatePolicy {
  constructor(serverless, _options, { log } = {}) {
    this.serverless = serverless;
    this.log = log;
    let facts;
    this.configurationVariablesSources = {
      drawbridgePolicy: {
        resolve: async ({ address, resolveVariable }) => {
          const file = await resolveVariable('self:custom.drawbridge.policyFile');
          // The validated policy as JSON, relative to the service directory (validate() writes it).
          if (address === 'jsonFile') return { value: policyJsonPath(file) };
          if (!facts) {
            const result = runCheck(serverless.serviceDir, ['--launch-facts', file]);
            if (result.status !== 0) {
              throw new serverless.classes.Error(
                `Drawbridge policy rejected: ${(result.stderr || result.stdout || '').trim()}`,
                'DRAWBRIDGE_POLICY_INVALID',
              );
            }
            facts = JSON.parse(result.stdout);
          }
          // IAM refuses an empty condition list; a policy without ec2 targets launches nothing,
          // and a value no subnet, VPC or type can have keeps that true.
          const orNone = (values, none) => (values.length > 0 ? values : [none]);
          switch (address) {
            case 'subnetArns':
              return { value: arns('subnet', orNone(facts.subnetIds, 'subnet-none')) };
            case 'vpcArns':
              return { value: arns('vpc', orNone(facts.vpcIds, 'vpc-none')) };
            case 'instanceTypes':
              return { value: orNone(facts.instanceTypes, 'none') };
            default:
              throw new serverless.classes.Error(
                `Unknown drawbridgePolicy fact '${address}' (subnetArns, vpcArns, instanceTypes, jsonFile)`,
                'DRAWBRIDGE_POLICY_FACT',
              );
          }
        },
      },
    };
    const validate = () => this.validate();
    this.hooks = {
      'before:package:initialize': validate,
      'before:deploy:function:initialize': validate,
      'before:offline:start:init': validate,
      'before:offline:start': validate,
    };
  }

  validate() {
    const serviceDir = this.serverless.serviceDir;
    const custom = this.serverless.service.custom ?? {};
    const file = custom.drawbridge?.policyFile ?? DEFAULT_POLICY_FILE;
    const script = path.join(serviceDir, 'scripts', 'policy-check.ts');
    const result = runCheck(serviceDir, ['--json', file]);
    if (result.error) {
      throw new this.serverless.classes.Error(
        `Could not run ${script}: ${result.error.message}`,
        'DRAWBRIDGE_POLICY_CHECK_FAILED',
      );
    }
    if (result.status !== 0) {
      const reason =
        (result.stderr || result.stdout || '').trim() || `exit status ${result.status}`;
      throw new this.serverless.classes.Error(
        `Drawbridge policy rejected: ${reason}`,
        'DRAWBRIDGE_POLICY_INVALID',
      );
    }
    this.log?.verbose?.(result.stdout.trimEnd());
    this.log?.notice?.(`Drawbridge policy ${file} is valid`);
    this.log?.verbose?.(`Drawbridge policy written as ${policyJsonPath(file)} for the functions`);
  }
}

module.exports = ValidatePolicy;
module.exports.policyJsonPath = policyJsonPath;
