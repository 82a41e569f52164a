'use strict';

// `${file(./serverless/service-dir.cjs)}` resolves to this service's absolute directory.
// serverless-offline sets LAMBDA_TASK_ROOT to /var/task, which does not exist locally, so the
// `local` stage points POLICY_FILE at the policy by absolute path instead.
const path = require('node:path');

module.exports = () => path.resolve(__dirname, '..');
