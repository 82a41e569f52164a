'use strict';

// Refuses to package, deploy or run offline with an invalid access policy. The check itself is
// scripts/policy-check.ts (the same parsePolicy the functions run at cold start), started with
// the Node that runs osls so TypeScript is stripped natively and no second toolchain is needed.

const { spawnSync } = require('node:child_process');
const path = require('node:path');

class ValidatePolicy {
  constructor(serverless, _options, { log } = {}) {
    this.serverless = serverless;
    this.log = log;
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
    const file = custom.drawbridge?.policyFile ?? 'policy/drawbridge.policy.yaml';
    const script = path.join(serviceDir, 'scripts', 'policy-check.ts');
    const result = spawnSync(process.execPath, [script, file], {
      cwd: serviceDir,
      encoding: 'utf8',
    });
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
  }
}

module.exports = ValidatePolicy;
