// Runs `osls package` the way CI and a newcomer would (no AWS credentials, an empty HOME) into
// a temporary directory, and reads what it produced. Packaging takes several seconds, so a test
// process packages at most once per stage; bench/bundle.ts reuses the same code.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { inflateRawSync } from 'node:zlib';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const OSLS_BIN = join(REPO_ROOT, 'node_modules', 'osls', 'bin', 'serverless.js');

export interface IamStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: unknown;
  NotResource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export interface PolicyDocument {
  Version?: string;
  Statement: IamStatement[];
}

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown }>;
}

export interface PackagedService {
  /** the --package directory: one zip per function, the CloudFormation templates */
  dir: string;
  template: CfnTemplate;
  /** function name (as in serverless.yml) → absolute path of its zip */
  artifacts: Record<string, string>;
  /** osls output, for diagnosing a failure */
  log: string;
}

export interface PackageOptions {
  stage?: string;
  /** where the zips go; a fresh temporary directory by default */
  outputDir?: string;
  region?: string;
  /** --param="name=value" for each entry */
  params?: Record<string, string>;
}

/** Environment without AWS credentials or profiles and with an empty HOME. */
export function isolatedEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^AWS_/.test(name)) continue;
    env[name] = value;
  }
  return { ...env, HOME: home, USERPROFILE: home, ...extra };
}

export async function packageService(options: PackageOptions = {}): Promise<PackagedService> {
  const stage = options.stage ?? 'test';
  const dir = options.outputDir ?? mkdtempSync(join(tmpdir(), 'drawbridge-package-'));
  const home = mkdtempSync(join(tmpdir(), 'drawbridge-home-'));
  // serverless-esbuild's work folder is relative to the service; give each run its own (outside
  // the repository) so concurrent packaging by tests, benchmarks and people cannot collide.
  const work = mkdtempSync(join(tmpdir(), 'drawbridge-esbuild-'));
  try {
    const log = await run(
      process.execPath,
      [
        OSLS_BIN,
        'package',
        '--stage',
        stage,
        '--package',
        dir,
        ...(options.region ? ['--region', options.region] : []),
        ...Object.entries(options.params ?? {}).map(([name, value]) => `--param=${name}=${value}`),
      ],
      isolatedEnv(home, { DRAWBRIDGE_ESBUILD_WORK_DIR: relative(REPO_ROOT, work) }),
    );
    const template = JSON.parse(
      readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'),
    ) as CfnTemplate;
    const artifacts: Record<string, string> = {};
    for (const file of readdirSync(dir)) {
      if (file.endsWith('.zip')) artifacts[file.slice(0, -'.zip'.length)] = join(dir, file);
    }
    return { dir, template, artifacts, log };
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

const packaged = new Map<string, Promise<PackagedService>>();

/** The packaged service for `stage`, built on first use and shared by every caller in this process. */
export function packageOnce(stage = 'test'): Promise<PackagedService> {
  let result = packaged.get(stage);
  if (!result) {
    result = packageService({ stage });
    packaged.set(stage, result);
  }
  return result;
}

/** Like packageOnce, for a stage packaged with its own region and params. */
export function packageOnceWith(
  stage: string,
  options: Omit<PackageOptions, 'stage' | 'outputDir'>,
): Promise<PackagedService> {
  const key = `${stage} ${JSON.stringify(options)}`;
  let result = packaged.get(key);
  if (!result) {
    result = packageService({ ...options, stage });
    packaged.set(key, result);
  }
  return result;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    // stdin closed: osls must never wait for an answer.
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise(output);
      else reject(new Error(`osls ${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
}

// ---------------------------------------------------------------- zip reading
// Just enough of the ZIP format (central directory, stored or deflated entries) to list and
// extract a Lambda artifact without depending on an `unzip` binary.

export interface ZipEntry {
  name: string;
  compressedSize: number;
  size: number;
  method: number;
  localHeaderOffset: number;
}

export function listZip(file: string): ZipEntry[] {
  const zip = readFileSync(file);
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error(`${file} is not a zip file`);
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let index = 0; index < count; index++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error(`${file}: bad central directory`);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    entries.push({
      method: zip.readUInt16LE(offset + 10),
      compressedSize: zip.readUInt32LE(offset + 20),
      size: zip.readUInt32LE(offset + 24),
      localHeaderOffset: zip.readUInt32LE(offset + 42),
      name: zip.toString('utf8', offset + 46, offset + 46 + nameLength),
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

export function readZipEntry(file: string, name: string): Buffer {
  const zip = readFileSync(file);
  const entry = listZip(file).find((candidate) => candidate.name === name);
  if (!entry) throw new Error(`${file} has no entry ${name}`);
  const header = entry.localHeaderOffset;
  const start = header + 30 + zip.readUInt16LE(header + 26) + zip.readUInt16LE(header + 28);
  const data = zip.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) return Buffer.from(data);
  if (entry.method === 8) return inflateRawSync(data);
  throw new Error(`${file}: ${name} uses unsupported compression method ${entry.method}`);
}
