/**
 * Client name resolution with real servers: every target form of gRPC's naming document
 * (DNS names through the system resolver and through a DNS server named in the target, IP
 * literals, ipv4:/ipv6: lists, unix sockets), the :authority each sends, resolution failures,
 * and re-resolution picking up changed DNS records (answered by a test DNS server).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GrpcClient, GrpcError, GrpcServer, Status } from '../../lib/index.js';
import { TestDnsServer } from '../helpers/dns-server.js';
import { exampleImplementation } from '../helpers/example-service.js';
import { Changes, deadPort, Replica, startLoopbackReplicas } from '../helpers/loopback-replicas.js';
import { typedExampleStub as exampleStub } from '../helpers/typed-example.js';

const REQUEST = { value: 'T', multiplier: 1 };

/** Makes one call through a new client of `target` and closes it; resolves with the reply's message. */
async function callOnce(target: string | string[], options: ConstructorParameters<typeof GrpcClient>[2] = {}): Promise<string> {
  const client = new GrpcClient(target, exampleStub, options);
  try {
    return (await client.unary_unary(REQUEST, { timeout: 20_000 })).message;
  } finally {
    client.close();
  }
}

/** The rejection of `promise`, which must reject. */
async function rejection(promise: Promise<unknown>): Promise<GrpcError> {
  try {
    await promise;
  } catch (error) {
    return error as GrpcError;
  }
  throw new Error('expected a rejection');
}

describe('target forms', () => {
  let dns: TestDnsServer;
  let tmp: string;

  beforeAll(async () => {
    dns = await TestDnsServer.start();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'grpc-targets-'));
  });

  afterAll(() => {
    dns.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('DNS names, IP literals and ipv4: lists reach a server on 127.0.0.1', async () => {
    const server = new GrpcServer();
    server.addService(exampleStub, exampleImplementation);
    const port = await server.listen('127.0.0.1:0');
    const dead = await deadPort();
    dns.setA('forms.test', ['127.0.0.1']);
    try {
      for (const target of [
        `127.0.0.1:${port}`,
        `dns:///127.0.0.1:${port}`,
        `dns:127.0.0.1:${port}`,
        `localhost:${port}`, // getaddrinfo; if ::1 comes first, pick_first moves on to 127.0.0.1
        `dns:///localhost:${port}`,
        `ipv4:127.0.0.1:${port}`,
        `ipv4:127.0.0.1:${dead},127.0.0.1:${port}`, // the first address refuses: pick_first uses the second
        dns.target('forms.test', port),
        `dns://127.0.0.1:${dns.port}/FORMS.test:${port}`,
      ]) {
        await expect(callOnce(target)).resolves.toBe('T');
      }
    } finally {
      server.forceShutdown();
    }
  });

  it('IPv6 literals and ipv6: lists reach a server on [::1]', async () => {
    const server = new GrpcServer();
    server.addService(exampleStub, exampleImplementation);
    const port = await server.listen('[::1]:0');
    try {
      for (const target of [`[::1]:${port}`, `dns:///[::1]:${port}`, `ipv6:[::1]:${port}`, `ipv6:[::1]:${await deadPort()},[::1]:${port}`]) {
        await expect(callOnce(target)).resolves.toBe('T');
      }
    } finally {
      server.forceShutdown();
    }
  });

  it('unix sockets: unix:relative, unix:/absolute, unix:///absolute and unix-abstract: reach our server', async () => {
    const socket = path.join(tmp, 'ours.sock');
    const server = new GrpcServer();
    server.addService(exampleStub, exampleImplementation);
    await expect(server.listen(`unix:${socket}`)).resolves.toBe(0);
    const abstractName = `grpc-test-${process.pid}-${Date.now()}`;
    const abstract = new GrpcServer();
    abstract.addService(exampleStub, exampleImplementation);
    await abstract.listen(`unix-abstract:${abstractName}`);
    try {
      for (const target of [`unix:${path.relative(process.cwd(), socket)}`, `unix:${socket}`, `unix://${socket}`, `unix-abstract:${abstractName}`]) {
        await expect(callOnce(target)).resolves.toBe('T');
      }
      await expect(new GrpcServer().listen('unix://relative.sock')).rejects.toThrow(TypeError);
    } finally {
      server.forceShutdown();
      abstract.forceShutdown();
    }
  });

  it('a grpc-js server on a unix socket gets :authority localhost; on TCP the DNS name, not the IP', async () => {
    const socket = `unix://${path.join(tmp, 'grpc-js.sock')}`;
    const onSocket = new Replica(socket, 0, 'grpc-js', new Changes());
    await onSocket.start();
    const replicas = await startLoopbackReplicas(2, 'grpc-js');
    const port = replicas[0].port;
    dns.setA('authority.test', ['127.0.0.2']);
    try {
      await expect(callOnce(socket)).resolves.toBe(socket);
      expect(onSocket.authorities).toEqual(['localhost']);
      await expect(callOnce(dns.target('authority.test', port))).resolves.toBe('127.0.0.2');
      await expect(callOnce(`ipv4:127.0.0.2:${port},127.0.0.1:${port}`)).resolves.toBe('127.0.0.2');
      await expect(callOnce(`localhost:${port}`)).resolves.toBe('127.0.0.1');
      expect(replicas[1].authorities).toEqual([`authority.test:${port}`, `127.0.0.2:${port}`]);
      expect(replicas[0].authorities).toEqual([`localhost:${port}`]);
    } finally {
      onSocket.kill();
      for (const replica of replicas) replica.kill();
    }
  });

  it('bad targets are refused with a TypeError naming them', () => {
    for (const invalid of ['not a target', 'host:port', 'localhost:99999', 'http://localhost:1', '[::1', 'unix://relative', 'ipv4:::1', 'dns://resolver.example/x:1']) {
      expect(() => new GrpcClient(invalid, exampleStub)).toThrow(new RegExp(`^Invalid target ${JSON.stringify(invalid).replace(/[[\]]/g, '\\$&')}`));
    }
    expect(() => new GrpcClient([], exampleStub)).toThrow(TypeError);
    expect(() => new GrpcClient('localhost:1', exampleStub, { loadBalancingPolicy: 'random' as 'round_robin' })).toThrow(/Unknown load-balancing policy "random"/);
  });
});

describe('DNS resolution', () => {
  let dns: TestDnsServer;
  let replicas: Replica[];
  let port: number;
  const changes = new Changes();

  beforeAll(async () => {
    dns = await TestDnsServer.start();
    replicas = await startLoopbackReplicas(3, 'ours', changes);
    port = replicas[0].port;
  });

  afterAll(() => {
    dns.close();
    for (const replica of replicas) replica.kill();
  });

  beforeEach(() => {
    for (const replica of replicas) replica.served = 0;
  });

  it('a name resolves to all its A records: round_robin reaches every address', async () => {
    dns.setA('all.test', ['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    const client = new GrpcClient(dns.target('all.test', port), exampleStub, { loadBalancingPolicy: 'round_robin' });
    try {
      const seen = new Set<string>();
      for (let i = 0; i < 60 && seen.size < 3; i++) seen.add((await client.unary_unary(REQUEST)).message);
      expect(seen).toEqual(new Set(['127.0.0.1', '127.0.0.2', '127.0.0.3']));
      expect(dns.queries('all.test')).toBe(1);
    } finally {
      client.close();
    }
  });

  it('a name that does not resolve fails calls UNAVAILABLE naming it and the DNS error; waitForReady calls wait until it resolves', async () => {
    const client = new GrpcClient(dns.target('late.test', port), exampleStub, { dnsMinIntervalMs: 0, backoff: { initialMs: 50, maxMs: 200 } });
    try {
      const error = await rejection(client.unary_unary(REQUEST));
      expect(error).toBeInstanceOf(GrpcError);
      expect(error.code).toBe(Status.UNAVAILABLE);
      expect(error.message).toMatch(/DNS resolution of "late.test" at 127\.0\.0\.1:\d+ failed: .*ENOTFOUND/);
      await expect(client.connect()).rejects.toMatchObject({ code: Status.UNAVAILABLE });
      const waiting = client.unary_unary(REQUEST, { waitForReady: true, timeout: 20_000 });
      const asked = dns.queries('late.test');
      await dns.queried('late.test', asked); // it keeps retrying while the name does not resolve
      dns.setA('late.test', ['127.0.0.3']);
      await expect(waiting).resolves.toEqual({ message: '127.0.0.3', seqno: 0 });
    } finally {
      client.close();
      dns.setA('late.test', []);
    }
  });

  it('the system resolver: a name that does not exist fails UNAVAILABLE naming it', async () => {
    const error = await rejection(callOnce(`dns:///no-such-host.invalid:${port}`));
    expect(error.code).toBe(Status.UNAVAILABLE);
    expect(error.message).toMatch(/DNS resolution of "no-such-host.invalid" failed: .*ENOTFOUND/);
  });

  it('re-resolution on connection loss follows a changed record to the new address', async () => {
    const moved = await startLoopbackReplicas(2, 'ours', changes);
    const [first, second] = moved;
    dns.setA('moving.test', ['127.0.0.1']);
    const client = new GrpcClient(dns.target('moving.test', first.port), exampleStub, { dnsMinIntervalMs: 0 });
    try {
      await expect(client.unary_unary(REQUEST)).resolves.toEqual({ message: '127.0.0.1', seqno: 0 });
      const asked = dns.queries('moving.test');
      dns.setA('moving.test', ['127.0.0.2']);
      first.kill();
      await dns.queried('moving.test', asked);
      // Calls that wait for a connection ride out the moment between the loss and the new answer.
      await expect(client.unary_unary(REQUEST, { waitForReady: true, timeout: 20_000 })).resolves.toEqual({ message: '127.0.0.2', seqno: 0 });
      await expect(client.unary_unary(REQUEST)).resolves.toEqual({ message: '127.0.0.2', seqno: 0 });
      expect(second.served).toBe(2);
    } finally {
      client.close();
      for (const replica of moved) replica.kill();
    }
  });

  it('periodic re-resolution adds a new address and retires a removed one after its call in flight ends', async () => {
    dns.setA('scaling.test', ['127.0.0.1']);
    const client = new GrpcClient(dns.target('scaling.test', port), exampleStub, { loadBalancingPolicy: 'round_robin', dnsRefreshIntervalMs: 50, dnsMinIntervalMs: 0 });
    try {
      await client.unary_unary(REQUEST);
      const holding = client.unary_unary({ value: 'hold', multiplier: 1 });
      await changes.until(() => replicas[0].active.size === 1, 'the held call on 127.0.0.1');
      // Scale out: the next periodic resolution adds 127.0.0.2 and calls reach it.
      dns.setA('scaling.test', ['127.0.0.1', '127.0.0.2']);
      await dns.queried('scaling.test', dns.queries('scaling.test'));
      for (let i = 0; i < 200 && replicas[1].served === 0; i++) await client.unary_unary(REQUEST);
      expect(replicas[1].served).toBeGreaterThan(0);
      // Scale in: 127.0.0.1 is removed; new calls stop going there, its held call still completes.
      dns.setA('scaling.test', ['127.0.0.2']);
      await dns.queried('scaling.test', dns.queries('scaling.test'));
      let streak = 0;
      for (let i = 0; i < 400 && streak < 20; i++) streak = (await client.unary_unary(REQUEST)).message === '127.0.0.2' ? streak + 1 : 0;
      expect(streak).toBe(20);
      replicas[0].held.resolve();
      await expect(holding).resolves.toEqual({ message: '127.0.0.1', seqno: 0 });
    } finally {
      client.close();
    }
  });

  it('dnsMinIntervalMs defers re-resolution however often connections fail', async () => {
    const dead = await deadPort();
    dns.setA('down.test', ['127.0.0.1']);
    const client = new GrpcClient(dns.target('down.test', dead), exampleStub, { dnsMinIntervalMs: 1000, backoff: { initialMs: 1, maxMs: 1 } });
    try {
      for (let i = 0; i < 5; i++) {
        const error = await rejection(client.unary_unary(REQUEST));
        expect(error.message).toMatch(new RegExp(`Failed to connect to 127\\.0\\.0\\.1:${dead} \\(dns://.*down\\.test:${dead}\\): .*ECONNREFUSED`));
      }
      // Each failure asked for a resolution: they are served once, when the interval has passed.
      await dns.queried('down.test', 1);
      const [first, second] = dns.queryTimes('down.test');
      expect(second - first).toBeGreaterThanOrEqual(900); // less the first answer's latency
      await expect(client.unary_unary(REQUEST)).rejects.toMatchObject({ code: Status.UNAVAILABLE });
      expect(dns.queries('down.test')).toBe(2);
    } finally {
      client.close();
    }
  });
});
