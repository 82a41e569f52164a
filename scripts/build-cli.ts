// npm run build:cli: bundles the drawbridge command into one file, dist/drawbridge.mjs, which
// bin/drawbridge.mjs prefers over the TypeScript source.
//
//   node scripts/build-cli.ts
import { build } from 'esbuild';

const outfile = 'dist/drawbridge.mjs';

const result = await build({
  entryPoints: ['cli/drawbridge.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  minify: true,
  metafile: true,
  legalComments: 'none',
  // Some dependencies are CommonJS and call require(); an ES module has none, so the bundle
  // makes one. (import.meta.url also lets the CLI find the repository it was built from.)
  banner: {
    js: "import { createRequire as __drawbridgeCreateRequire } from 'node:module'; const require = __drawbridgeCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

const bytes = result.metafile.outputs[outfile]?.bytes ?? 0;
console.log(`${outfile}: ${(bytes / 1024).toFixed(0)} KB`);
