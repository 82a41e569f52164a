#!/usr/bin/env node
// Runs the bundled CLI (npm run build:cli) when it exists, else the TypeScript source
// directly: Node 24 strips the types itself.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/drawbridge.mjs', import.meta.url);
await import(
  existsSync(bundle) ? bundle.href : new URL('../cli/drawbridge.ts', import.meta.url).href
);
