// npm run build:console (and `prepare`, so `npm ci` builds it): bundles the web console into
// dist/console — index.html plus content-hashed files under assets/ — which local mode serves
// at / and the `console` function serves in the cloud.
//
//   node scripts/build-console.ts
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { build } from 'esbuild';

const outdir = 'dist/console';
const assets = join(outdir, 'assets');
await rm(outdir, { recursive: true, force: true });
await mkdir(assets, { recursive: true });

const result = await build({
  entryPoints: { app: 'console/src/main.tsx', styles: 'console/src/styles.css' },
  outdir: assets,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome120', 'firefox120', 'safari17'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  metafile: true,
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  legalComments: 'none',
  // Everything the page needs is in these files: nothing is fetched from another origin.
  loader: { '.woff': 'file', '.woff2': 'file', '.svg': 'file' },
  logLevel: 'warning',
});

const entry = (name: string, extension: string): string => {
  const found = Object.entries(result.metafile.outputs).find(
    ([file, output]) =>
      file.endsWith(extension) &&
      output.entryPoint !== undefined &&
      basename(file).startsWith(`${name}-`),
  );
  if (!found) throw new Error(`the build wrote no ${name}${extension}`);
  return basename(found[0]);
};
const html = (await readFile('console/index.html', 'utf8'))
  .replace('{{js}}', entry('app', '.js'))
  .replace('{{css}}', entry('styles', '.css'));
await writeFile(join(outdir, 'index.html'), html);
await copyFile('console/favicon.svg', join(assets, 'favicon.svg'));

const kilobytes =
  Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0) / 1024;
console.log(
  `${outdir}: ${kilobytes.toFixed(0)} KB in ${Object.keys(result.metafile.outputs).length} files`,
);
