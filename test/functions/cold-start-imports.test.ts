import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { bundleFunction, sdkImportsOf } from '../../bench/bundle-graph.ts';
import { HOT_PATH } from '../../bench/hot-path.ts';

const ROOT = join(import.meta.dirname, '../..');

// Each function bundled once for all the checks below.
const bundles = new Map<string, Promise<Metafile>>();
const bundleOf = (file: string): Promise<Metafile> => {
  let bundle = bundles.get(file);
  if (!bundle) {
    bundle = bundleFunction(join(ROOT, file));
    bundles.set(file, bundle);
  }
  return bundle;
};
const HEAVY = [
  '@aws-sdk/client-ec2',
  '@aws-sdk/client-ssm',
  '@aws-sdk/client-sts',
  '@aws-sdk/client-cloudwatch-logs',
];

/**
 * What each function loads at cold start, read from its real bundle (the same esbuild options
 * as serverless.yml): an external `import` statement loads at init, an `import()` only when run.
 */
describe.each(Object.entries(HOT_PATH))('%s', (name, { file, sdk }) => {
  it('statically imports exactly the SDK packages of its hot path', async () => {
    const imports = sdkImportsOf(await bundleOf(file));
    expect(imports.static).toEqual([...sdk].sort());
    if (['expire', 'reap', 'endSession', 'provision'].includes(name)) {
      // EC2 loads on the first call that acts on an ec2 resource, never at cold start
      expect(imports.dynamic).toContain('@aws-sdk/client-ec2');
    }
  });
});

it('covers every function serverless.yml deploys, with its handler file', () => {
  // CloudFormation intrinsics (!Ref, !Sub…) are custom tags: read them as plain values.
  const yaml = parseYaml(readFileSync(join(ROOT, 'serverless.yml'), 'utf8'), {
    customTags: [
      'Ref',
      'Sub',
      'GetAtt',
      'Join',
      'If',
      'Equals',
      'Not',
      'Select',
      'Split',
      'ImportValue',
      'FindInMap',
      'GetAZs',
      'Base64',
      'Cidr',
      'Condition',
      'And',
      'Or',
    ].map((tag) => ({ tag: `!${tag}`, resolve: (value: unknown) => value })),
  }) as { functions: Record<string, { handler: string }> };
  const deployed = Object.fromEntries(
    Object.entries(yaml.functions).map(([name, fn]) => [
      name,
      `${fn.handler.replace(/\.handler$/, '')}.ts`,
    ]),
  );
  const listed = Object.fromEntries(
    Object.entries(HOT_PATH).map(([name, { file }]) => [name, file]),
  );
  expect(listed).toEqual(deployed);
});

it('HTTP read functions and POST /sessions load no EC2, SSM, STS or Logs client at cold start', () => {
  for (const name of [
    'getSession',
    'listSessions',
    'listReviews',
    'reviewSession',
    'verifyAudit',
    'usage',
    'listTargets',
    'requestSession',
  ]) {
    expect(HOT_PATH[name]?.sdk.filter((pkg) => HEAVY.includes(pkg))).toEqual([]);
  }
  for (const name of ['expire', 'reap', 'endSession']) {
    expect(HOT_PATH[name]?.sdk).not.toContain('@aws-sdk/client-ec2');
  }
});

// The functions read the policy as JSON (serverless/validate-policy.cjs writes it at package
// time) and write a bastion's cloud-config as JSON (lib/aws/cloud-config.ts), which cloud-init's
// YAML loader reads: the yaml package (≈115 KB, ≈25 ms of init) is for scripts and local mode.
// They validate with zod/mini: zod's classic API is ≈100 KB more and ≈45 ms of CPU at import.
describe.each(Object.entries(HOT_PATH))('%s', (name, { file }) => {
  it('bundles neither the yaml package nor zod classic', async () => {
    const inputs = Object.keys((await bundleOf(file)).inputs);
    expect(inputs.filter((input) => input.includes('node_modules/yaml/'))).toEqual([]);
    expect(inputs.filter((input) => input.includes('node_modules/zod/v4/classic/'))).toEqual([]);
    // every function but the console's static files reads the policy, from its JSON
    if (name !== 'console') expect(inputs).toContain('lib/domain/policy.ts');
  });
});

// Metrics: only the functions whose use case emits some build and flush them
// (lib/composition/metrics.ts); a read function would only flush an empty buffer.
const METERED = new Set([
  'requestSession',
  'approveSession',
  'denySession',
  'provision',
  'onInstanceState',
  'onBastionLog',
  'expire',
  'reap',
  'endSession',
]);
describe.each(Object.entries(HOT_PATH))('%s', (name, { file }) => {
  it(`${METERED.has(name) ? 'bundles' : 'does not bundle'} Powertools Metrics`, async () => {
    const inputs = Object.keys((await bundleOf(file)).inputs);
    expect(inputs.includes('lib/aws/powertools-metrics.ts')).toBe(METERED.has(name));
    expect(inputs.some((input) => input.includes('@aws-lambda-powertools/metrics/'))).toBe(
      METERED.has(name),
    );
  });
});
