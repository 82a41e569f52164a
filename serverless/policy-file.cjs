'use strict';

// `${file(./serverless/policy-file.cjs)}`: the access policy this stage packages, relative to
// the service: policy/<stage>.policy.yaml when the stage has one, policy/drawbridge.policy.yaml
// otherwise. Each account's stage keeps its own VPCs, subnets and targets without edits to a
// shared file; `--param="policyFile=path"` names any other file.
const { existsSync } = require('node:fs');
const path = require('node:path');

const FALLBACK = 'policy/drawbridge.policy.yaml';

module.exports = async ({ resolveVariable }) => {
  const stage = await resolveVariable('sls:stage');
  const own = `policy/${stage}.policy.yaml`;
  return existsSync(path.resolve(__dirname, '..', own)) ? own : FALLBACK;
};
