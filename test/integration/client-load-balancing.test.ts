/**
 * Load-balancing policies with real servers: three replicas (ours and @grpc/grpc-js) on
 * 127.0.0.1–3 behind one DNS name answered by a test DNS server. pick_first sticks to the first
 * address that connects and fails over in order; round_robin spreads calls evenly, skips a dead
 * replica and takes it back once it returns.
 */
import { GrpcClient, type GrpcClientOptions } from '../../lib/index.js';
import { TestDnsServer } from '../helpers/dns-server.js';
import { Changes, type ReplicaKind, type Replica, startLoopbackReplicas } from '../helpers/loopback-replicas.js';
import { typedExampleStub as exampleStub } from '../helpers/typed-example.js';

const REQUEST = { value: 'LB', multiplier: 1 };
const ALL = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];

describe.each<ReplicaKind>(['ours', 'grpc-js'])('three %s replicas behind one name', (kind) => {
  let dns: TestDnsServer;
  let replicas: Replica[];
  let client: GrpcClient<typeof exampleStub> | undefined;
  const changes = new Changes();

  /** A client of the replicas' name with these options; it re-resolves at once when a connection is lost. */
  function clientOf(options: GrpcClientOptions = {}): GrpcClient<typeof exampleStub> {
    client = new GrpcClient(dns.target('replicas.test', replicas[0].port), exampleStub, { dnsMinIntervalMs: 0, ...options });
    return client;
  }

  /**
   * Kills a replica and waits until the client has seen its connection go: the client asks the
   * DNS server again when a connection is lost (with dnsMinIntervalMs 0, at once).
   */
  async function kill(replica: Replica): Promise<void> {
    const asked = dns.queries('replicas.test');
    replica.kill();
    await dns.queried('replicas.test', asked);
  }

  /** The IP that served each of `count` calls made one after another. */
  async function sequential(count: number): Promise<string[]> {
    const served: string[] = [];
    for (let i = 0; i < count; i++) served.push((await client!.unary_unary(REQUEST)).message);
    return served;
  }

  function tally(ips: string[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const ip of ips) counts[ip] = (counts[ip] ?? 0) + 1;
    return counts;
  }

  beforeAll(async () => {
    dns = await TestDnsServer.start();
    dns.setA('replicas.test', ALL);
  });

  beforeEach(async () => {
    replicas = await startLoopbackReplicas(3, kind, changes);
  });

  afterEach(() => {
    client?.close();
    client = undefined;
    for (const replica of replicas) replica.kill();
  });

  afterAll(() => dns.close());

  it('pick_first (the default) sends every call to the first address and connects to no other', async () => {
    clientOf();
    expect(tally(await sequential(30))).toEqual({ '127.0.0.1': 30 });
    expect(tally(await Promise.all(Array.from({ length: 30 }, () => client!.unary_unary(REQUEST).then((reply) => reply.message))))).toEqual({ '127.0.0.1': 30 });
    expect(replicas.map((replica) => replica.seen.size > 0)).toEqual([true, false, false]);
  });

  it('pick_first fails over to the next address, stays there when the first returns, and moves on in order', async () => {
    // A 1 ms backoff: a refused address is tried again at the next call after that.
    clientOf({ backoff: { initialMs: 1, maxMs: 1 } });
    expect(await sequential(3)).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1']);
    await kill(replicas[0]);
    // The lost address is tried again first, refused, and the next one takes over; no call fails.
    expect(tally(await sequential(10))).toEqual({ '127.0.0.2': 10 });
    await replicas[0].start();
    expect(tally(await sequential(10))).toEqual({ '127.0.0.2': 10 });
    await kill(replicas[1]);
    expect(tally(await sequential(10))).toEqual({ '127.0.0.1': 10 });
  });

  it('round_robin spreads calls evenly, one after another and concurrently', async () => {
    clientOf({ loadBalancingPolicy: 'round_robin' });
    await client!.connect();
    // connect() returns once one replica is Ready; the others come up as calls go on.
    for (let i = 0; i < 300 && !replicas.every((replica) => replica.served > 0); i++) await client!.unary_unary(REQUEST);
    expect(tally(await sequential(30))).toEqual({ '127.0.0.1': 10, '127.0.0.2': 10, '127.0.0.3': 10 });
    const concurrent = await Promise.all(Array.from({ length: 300 }, () => client!.unary_unary(REQUEST).then((reply) => reply.message)));
    expect(tally(concurrent)).toEqual({ '127.0.0.1': 100, '127.0.0.2': 100, '127.0.0.3': 100 });
  });

  it('round_robin skips a dead replica without a failed call and takes it back into the rotation when it returns', async () => {
    clientOf({ loadBalancingPolicy: 'round_robin', backoff: { initialMs: 50, maxMs: 200 } });
    for (let i = 0; i < 300 && !replicas.every((replica) => replica.served > 0); i++) await client!.unary_unary(REQUEST);
    await kill(replicas[1]);
    expect(tally(await sequential(60))).toEqual({ '127.0.0.1': 30, '127.0.0.3': 30 });
    // Back on the same IP and port: reconnected after its backoff, then in the rotation again.
    await replicas[1].start();
    for (let i = 0; i < 10_000 && replicas[1].firstCallAt === undefined; i++) await client!.unary_unary(REQUEST);
    expect(replicas[1].firstCallAt).toBeDefined();
    expect(tally(await sequential(30))).toEqual({ '127.0.0.1': 10, '127.0.0.2': 10, '127.0.0.3': 10 });
  });
});
