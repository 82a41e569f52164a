'use strict';

// `${file(./serverless/host.cjs)}`: `offline` under `osls offline`, `cloud` for everything else
// (package, deploy). serverless-offline cannot resolve CloudFormation references, so the stage
// values the functions read (queue URL, role ARNs, ...) are plain strings offline: see
// custom.drawbridge.runtime in serverless.yml.
module.exports = () => (process.argv.slice(2).includes('offline') ? 'offline' : 'cloud');
