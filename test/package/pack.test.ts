/**
 * The package as npm publishes it: `npm pack` after the build holds dist/lib, protos, README,
 * LICENSE and package.json, and nothing else; and a Nest app made from scratch in a temporary
 * folder, which installs the tarball and the Nest peers from the registry (the npm cache after
 * `npm ci`), compiles against the package's declarations through `exports`, and serves and calls
 * the example service.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FRESH_APP_MAIN, FRESH_APP_TSCONFIG, type FreshAppOutput, freshAppPackageJson } from './fresh-app.js';

const ROOT = path.resolve('.');
const PEERS = ['@nestjs/common', '@nestjs/core', '@nestjs/microservices', 'reflect-metadata', 'rxjs', '@types/node'];

/** The environment of the commands: without jest's NODE_OPTIONS and without npm's notes about the outer `npm test`. */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  for (const key of Object.keys(env)) if (/^npm_(package|lifecycle|config_local_prefix)/.test(key)) delete env[key];
  return env;
}

/** Runs a command; resolves with its stdout, or rejects with everything it printed. */
function run(command: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env: childEnv(), encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${error.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
    );
  });
}

function installedVersion(name: string): string {
  return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The lib/ source a file of dist/lib was compiled from. */
function sourceOf(distFile: string): string {
  return distFile.replace(/^dist\//, '').replace(/\.(js|d\.ts)(\.map)?$/, '.ts');
}

interface PackResult {
  filename: string;
  files: Array<{ path: string }>;
}

describe('the published package', () => {
  let work: string;
  let packed: PackResult;

  beforeAll(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'nestjs-grpc-transport-pack-'));
    await run('npm', ['run', 'build', '--silent'], ROOT);
    [packed] = JSON.parse(await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], ROOT)) as PackResult[];
  }, 180_000);

  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('holds dist/lib, protos, README.md, LICENSE and package.json only', () => {
    const paths = packed.files.map((file) => file.path);
    const unexpected = paths.filter((p) => !/^(dist\/lib\/|protos\/)/.test(p) && !['README.md', 'LICENSE', 'package.json'].includes(p));
    expect(unexpected).toEqual([]);
    expect(paths.filter((p) => /tsbuildinfo|^(test|sample|bench|interop)\//.test(p))).toEqual([]);
    for (const required of ['README.md', 'LICENSE', 'package.json', 'protos/example.proto', 'protos/grpc/health/v1/health.proto']) {
      expect(paths).toContain(required);
    }
    // Output of a module since deleted would ship too: delete dist/ and build again.
    const staleBuildOutput = paths.filter((p) => p.startsWith('dist/lib/') && !existsSync(path.join(ROOT, sourceOf(p))));
    expect(staleBuildOutput).toEqual([]);
  });

  it('holds every file package.json points at: exports, main, types and bin', () => {
    const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      main: string;
      types: string;
      exports: Record<string, string | Record<string, string>>;
      bin: Record<string, string>;
    };
    const targets = [manifest.main, manifest.types, ...Object.values(manifest.bin)];
    for (const entry of Object.values(manifest.exports)) targets.push(...(typeof entry === 'string' ? [entry] : Object.values(entry)));
    const paths = new Set(packed.files.map((file) => file.path));
    expect(targets.map((target) => target.replace(/^\.\//, '')).filter((target) => !paths.has(target))).toEqual([]);
  });

  it('works in a Nest app created from scratch: ESM, nodenext, both entry points, the generate command', async () => {
    const app = path.join(work, 'app');
    mkdirSync(path.join(app, 'src'), { recursive: true });
    const versions = Object.fromEntries(PEERS.map((name) => [name, installedVersion(name)]));
    writeFileSync(path.join(app, 'package.json'), freshAppPackageJson(path.join(work, packed.filename), versions));
    writeFileSync(path.join(app, 'tsconfig.json'), FRESH_APP_TSCONFIG);
    writeFileSync(path.join(app, 'src', 'main.ts'), FRESH_APP_MAIN);

    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], app);
    await run(path.join(app, 'node_modules', '.bin', 'nestjs-grpc-transport'), ['generate', 'node_modules/nestjs-grpc-transport/protos/example.proto', '--out', 'src/generated'], app);
    expect(readFileSync(path.join(app, 'src', 'generated', 'nameko.ts'), 'utf8')).toContain("from 'nestjs-grpc-transport/core'");

    // The compiler is the project's; everything it reads, but its own default libraries, comes from the app's folder.
    const compiled = await run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app, '--listFiles'], app);
    const typescriptLibs = path.join(ROOT, 'node_modules', 'typescript', 'lib');
    const read = compiled.split('\n').filter((line) => line.trim() !== '');
    expect(read.filter((file) => !file.startsWith(app + path.sep) && path.dirname(file) !== typescriptLibs)).toEqual([]);
    expect(read).toContain(path.join(app, 'node_modules', 'nestjs-grpc-transport', 'dist', 'lib', 'index.d.ts'));
    expect(read).toContain(path.join(app, 'node_modules', 'nestjs-grpc-transport', 'dist', 'lib', 'core.d.ts'));

    const output = JSON.parse(await run(process.execPath, ['dist/main.js'], app, 60_000)) as FreshAppOutput;
    expect(output).toEqual({ version: installedPackageVersion(app), reply: { message: 'abab fresh-app', seqno: 1 }, unimplemented: 'UNIMPLEMENTED' });
  }, 300_000);
});

function installedPackageVersion(app: string): string {
  return (JSON.parse(readFileSync(path.join(app, 'node_modules', 'nestjs-grpc-transport', 'package.json'), 'utf8')) as { version: string }).version;
}
