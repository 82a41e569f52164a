import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layer rules, checked on every import so that they hold without anyone remembering them:
 * domain → ports → app → adapters (lib/aws, lib/local) → composition (lib/composition,
 * functions/), with no arrow back up.
 */
const ROOT = resolve(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|js|mjs)$/.test(name) ? [path] : [];
  });
}

/** Every module a file imports: static, re-exported, type-only and dynamic. */
function importsOf(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /(?:^|\n)\s*(?:import|export)\s[^'"]*?\sfrom\s*['"]([^'"]+)['"]/g,
    /(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) if (match[1]) found.push(match[1]);
  }
  return found;
}

interface Edge {
  file: string;
  /** repository-relative path for a relative import, the package name otherwise */
  target: string;
}

const FILES = [
  ...sourceFiles('lib'),
  ...sourceFiles('functions'),
  ...sourceFiles('cli'),
  // bench/ mocks SDK clients the way tests do; scripts/ are tools that ship with the product
  ...sourceFiles('scripts'),
];
const EDGES: Edge[] = FILES.flatMap((file) =>
  importsOf(readFileSync(join(ROOT, file), 'utf8')).map((specifier) => ({
    file,
    target: specifier.startsWith('.')
      ? relative(ROOT, resolve(ROOT, dirname(file), specifier))
      : specifier,
  })),
);

const under = (path: string, ...dirs: string[]): boolean =>
  dirs.some((dir) => path === dir || path.startsWith(`${dir}/`));
const describeEdge = ({ file, target }: Edge) => `${file} → ${target}`;

describe('layer rules', () => {
  it('sees the imports it checks (static, type-only, dynamic)', () => {
    expect(
      importsOf("import type { A } from './a.ts';\nconst m = await import('@aws-sdk/x');"),
    ).toEqual(['./a.ts', '@aws-sdk/x']);
    expect(EDGES.some((edge) => edge.target === '@aws-sdk/client-dynamodb')).toBe(true);
    expect(FILES.length).toBeGreaterThan(50);
  });

  it('only lib/aws imports @aws-sdk/*', () => {
    const wrong = EDGES.filter(
      (edge) => edge.target.startsWith('@aws-sdk/') && !under(edge.file, 'lib/aws'),
    );
    expect(wrong.map(describeEdge)).toEqual([]);
  });

  it('adapters (lib/aws, lib/local) never import use cases (lib/app)', () => {
    // local-orchestrator.ts is local mode's composition root: it runs the use cases on timers.
    const wrong = EDGES.filter(
      (edge) =>
        under(edge.file, 'lib/aws', 'lib/local') &&
        edge.file !== 'lib/local/local-orchestrator.ts' &&
        under(edge.target, 'lib/app'),
    );
    expect(wrong.map(describeEdge)).toEqual([]);
  });

  it('use cases (lib/app) import only the domain, the ports and each other', () => {
    const wrong = EDGES.filter(
      (edge) =>
        under(edge.file, 'lib/app') &&
        (edge.target.startsWith('.') ||
          under(edge.target, 'lib', 'functions', 'cli') ||
          edge.target.startsWith('@aws-sdk/') ||
          edge.target.startsWith('@middy/')) &&
        !under(edge.target, 'lib/app', 'lib/domain', 'lib/ports'),
    );
    expect(wrong.map(describeEdge)).toEqual([]);
  });

  it('ports import only the domain and other ports', () => {
    const wrong = EDGES.filter(
      (edge) =>
        under(edge.file, 'lib/ports') &&
        under(edge.target, 'lib', 'functions', 'cli') &&
        !under(edge.target, 'lib/domain', 'lib/ports'),
    );
    expect(wrong.map(describeEdge)).toEqual([]);
  });

  it('the domain imports only the domain (and no HTTP library)', () => {
    const wrong = EDGES.filter(
      (edge) =>
        under(edge.file, 'lib/domain') &&
        ((under(edge.target, 'lib', 'functions', 'cli') && !under(edge.target, 'lib/domain')) ||
          /^(@middy\/|aws-lambda$|node:(http|https|querystring|url)$)/.test(edge.target)),
    );
    expect(wrong.map(describeEdge)).toEqual([]);
  });

  it('the domain holds no HTTP status codes and parses no query strings (lib/http does)', () => {
    const wrong = sourceFiles('lib/domain').filter((file) =>
      /\bstatus(Code)?\s*[:=]\s*[1-5]\d\d\b|queryStringParameters|URLSearchParams/.test(
        readFileSync(join(ROOT, file), 'utf8'),
      ),
    );
    expect(wrong).toEqual([]);
  });
});
