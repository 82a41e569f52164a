'use strict';

// `${file(./serverless/bastion-image.cjs)}`: the Image Builder component document, rendered by
// scripts/bastion-image-component.ts from the same hardening code the session cloud-config uses.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

module.exports = () => {
  const serviceDir = path.resolve(__dirname, '..');
  const result = spawnSync(
    process.execPath,
    [path.join(serviceDir, 'scripts', 'bastion-image-component.ts')],
    { cwd: serviceDir, encoding: 'utf8' },
  );
  if (result.status !== 0) {
    throw new Error(`bastion image component: ${(result.stderr || '').trim() || result.status}`);
  }
  return result.stdout;
};
