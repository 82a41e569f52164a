import { defineConfig } from 'vitest/config';

// Tests that start real processes (sshd, ssh, the local API, osls, Chromium) or change
// process-wide state get a fresh module graph per file. Everything else shares one per worker:
// re-importing the AWS SDK for each of ~80 files cost more than their tests.
const ISOLATED = [
  'test/e2e/**/*.test.ts',
  'test/local/**/*.test.ts',
  'test/cli/**/*.test.ts',
  'test/serverless/**/*.test.ts',
  // these build SDK clients from AWS_* variables or capture process output
  'test/aws/clients.test.ts',
  'test/aws/client-retry.test.ts',
  'test/app/issue-credentials.test.ts',
  'test/app/eice.test.ts',
];

export default defineConfig({
  test: {
    setupFiles: ['test/setup.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // vitest's default leaves one core idle; most of the slow files wait on child processes.
    maxWorkers: 2,
    // Handlers log through Powertools; tests assert on behaviour, not on log noise.
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_DEV: 'false' },
    projects: [
      {
        extends: true,
        test: { name: 'system', include: ISOLATED },
      },
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ISOLATED,
          isolate: false,
        },
      },
    ],
  },
});
