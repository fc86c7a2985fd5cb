/**
 * Runs Debian's nginx for tests: unprivileged, in the foreground as a child process, from a config
 * template with `${NAME}` placeholders, with its pid file, logs and temporary files in a fresh
 * temporary folder. nginx cannot listen on port 0, so a free port is picked (bound to port 0,
 * then released) and nginx is started again on another one if that port was taken meanwhile.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';

/** Where nginx is (`NGINX` in the environment, the PATH, or Debian's /usr/sbin/nginx), or why it cannot be used. */
export function findNginx(): { binary: string } | { missing: string } {
  const candidates = [process.env.NGINX, ...(process.env.PATH ?? '').split(path.delimiter).map((dir) => path.join(dir, 'nginx')), '/usr/sbin/nginx'];
  for (const candidate of candidates) {
    if (candidate === undefined || candidate === '' || candidate === 'nginx') continue;
    try {
      accessSync(candidate, constants.X_OK);
      return { binary: candidate };
    } catch {
      // not there
    }
  }
  return { missing: 'nginx is not installed (.ci/run installs it with apt-get when it runs as root or with password-less sudo)' };
}

/** The version of an nginx binary, e.g. `nginx/1.22.1` (nginx prints it on stderr). */
export function nginxVersion(binary: string): string {
  const { stdout, stderr } = spawnSync(binary, ['-v'], { encoding: 'utf8' });
  return `${stdout}${stderr}`.replace('nginx version:', '').trim();
}

/**
 * A template with every `${NAME}` replaced by `values[NAME]`. A placeholder without a value, or a
 * value for no placeholder, throws: the template and the test must agree.
 */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>): string {
  const used = new Set<string>();
  const filled = template.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`The template's placeholder \${${name}} has no value`);
    used.add(name);
    return value;
  });
  const unused = Object.keys(values).filter((name) => !used.has(name));
  if (unused.length > 0) throw new Error(`The template has no placeholder for ${unused.join(', ')}`);
  return filled;
}

/** The template with one directive's value replaced, or its line removed (`undefined`); the directive must occur exactly once. */
export function withDirective(directive: string, value: string | undefined): (template: string) => string {
  return (template) => {
    const pattern = new RegExp(`^( *)${directive} [^;]*;\\n`, 'gm');
    const count = template.match(pattern)?.length ?? 0;
    if (count !== 1) throw new Error(`the template has ${count} ${directive} lines, expected 1`);
    return template.replace(pattern, (_line, indent: string) => (value === undefined ? '' : `${indent}${directive} ${value};\n`));
  };
}

/** A TCP port that was free a moment ago on 127.0.0.1 (bound to port 0, then released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A running nginx: its port, its folder, and the means to read its logs and stop it. */
export class RunningNginx {
  private exited: Promise<void>;

  constructor(
    private readonly child: ChildProcess,
    /** The port it listens on, on 127.0.0.1. */
    readonly port: number,
    /** Its prefix folder: config, pid file, logs and temporary files. */
    readonly folder: string,
  ) {
    this.exited = child.exitCode !== null ? Promise.resolve() : once(child, 'exit').then(() => undefined);
  }

  /** The access log so far, one line per call. */
  async accessLog(): Promise<string[]> {
    return (await readFile(path.join(this.folder, 'access.log'), 'utf8')).split('\n').filter((line) => line !== '');
  }

  /** The error log so far. */
  errorLog(): Promise<string> {
    return readFile(path.join(this.folder, 'error.log'), 'utf8').catch(() => '');
  }

  /** Stops nginx (SIGTERM, then SIGKILL if it has not exited in 5 s) and removes its folder. Idempotent. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(timer);
    }
    process.off('exit', this.killNow);
    await rm(this.folder, { recursive: true, force: true });
  }

  /** Kills nginx at once; used when the test process exits without stopping it. */
  readonly killNow = (): void => {
    this.child.kill('SIGKILL');
  };
}

/** What `startNginx` needs: the binary, the config template and the values of its placeholders other than `LISTEN_PORT`. */
export interface NginxSetup {
  binary: string;
  template: string;
  values: Record<string, string>;
}

/**
 * Starts nginx with the template filled in (`LISTEN_PORT` becomes `127.0.0.1:<free port>`), and
 * resolves once it has written its pid file, which it does after binding. A port taken in between
 * is retried on another (up to 5 times); any other failure rejects with nginx's own messages.
 */
export async function startNginx(setup: NginxSetup): Promise<RunningNginx> {
  for (let attempt = 1; ; attempt++) {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'nginx-grpc-'));
    const port = await freePort();
    await writeFile(path.join(folder, 'nginx.conf'), fillTemplate(setup.template, { ...setup.values, LISTEN_PORT: `127.0.0.1:${port}` }));
    const child = spawn(setup.binary, ['-p', `${folder}/`, '-c', 'nginx.conf', '-e', 'stderr', '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const running = new RunningNginx(child, port, folder);
    process.on('exit', running.killNow);
    const started = await startedOrExited(child, path.join(folder, 'nginx.pid'));
    if (started) return running;
    const messages = `${stderr}${await running.errorLog()}`;
    await running.stop();
    if (!/Address already in use/.test(messages) || attempt === 5) throw new Error(`nginx did not start: ${messages.trim()}`);
  }
}

/** Waits until nginx's pid file holds its pid (true) or it exits (false). */
async function startedOrExited(child: ChildProcess, pidFile: string): Promise<boolean> {
  let exited = child.exitCode !== null;
  child.once('exit', () => (exited = true));
  // nginx signals readiness only through its pid file: poll it, with a bound on the wait.
  for (let waited = 0; waited < 10_000; waited += 20) {
    if (exited) return false;
    const pid = await readFile(pidFile, 'utf8').catch(() => '');
    if (pid.trim() === String(child.pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('nginx neither wrote its pid file nor exited within 10 s');
}
