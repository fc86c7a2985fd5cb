/**
 * Failover under load (issue 13): three replicas on 127.0.0.1–3 behind one name, resolved by a
 * test DNS server, called with round_robin by 20 callers that each make one call after
 * another. One replica is killed mid-run: only the calls in flight on it fail, traffic moves to
 * the other two, and when it comes back on the same IP and port it gets its share again. The
 * test prints the numbers: calls failed, and ms from the restart to its first call.
 */
import { GrpcClient, type GrpcError, Metadata } from '../../lib/index.js';
import { TestDnsServer } from '../helpers/dns-server.js';
import { Changes, type Replica, type ReplicaKind, startLoopbackReplicas } from '../helpers/loopback-replicas.js';
import { typedExampleStub as exampleStub } from '../helpers/typed-example.js';

const CALLERS = 20;
/** Each call's work in its handler, so that calls are in flight on every replica at any time. */
const WORK_MS = 5;

/** One call of the load: its id, when it started, and where it was served or why it failed. */
interface Outcome {
  id: string;
  startedAt: number;
  ip?: string;
  error?: GrpcError;
}

/** CALLERS callers each making one unary call after another until stopped. */
class SteadyLoad {
  readonly outcomes: Outcome[] = [];
  private next = 0;
  private stopped = false;
  private readonly callers: Promise<void>[];

  constructor(client: GrpcClient<typeof exampleStub>, changes: Changes) {
    this.callers = Array.from({ length: CALLERS }, async () => {
      while (!this.stopped) {
        const outcome: Outcome = { id: String(this.next++), startedAt: performance.now() };
        const metadata = new Metadata({ 'x-call-id': outcome.id });
        await client.unary_unary({ value: 'load', multiplier: 1 }, { metadata, timeout: 30_000 }).then(
          (reply) => (outcome.ip = reply.message),
          (error: GrpcError) => (outcome.error = error),
        );
        this.outcomes.push(outcome);
        changes.notify();
      }
    });
  }

  /** The calls that failed. */
  get failures(): Outcome[] {
    return this.outcomes.filter((outcome) => outcome.error !== undefined);
  }

  /** Lets each caller finish its call in flight, then stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.callers);
  }
}

describe.each<ReplicaKind>(['ours', 'grpc-js'])('failover with round_robin behind one DNS name, %s replicas', (kind) => {
  let dns: TestDnsServer;
  let replicas: Replica[];
  let client: GrpcClient<typeof exampleStub>;
  const changes = new Changes();

  beforeAll(async () => {
    dns = await TestDnsServer.start();
    replicas = await startLoopbackReplicas(3, kind, changes, WORK_MS);
    dns.setA('replicas.test', replicas.map((replica) => replica.ip));
    // Every default but the policy: backoff 1 s × 1.6, dnsMinIntervalMs 30 s.
    client = new GrpcClient(dns.target('replicas.test', replicas[0].port), exampleStub, { loadBalancingPolicy: 'round_robin' });
  });

  afterAll(() => {
    client.close();
    for (const replica of replicas) replica.kill();
    dns.close();
  });

  it('a replica killed mid-run fails only its calls in flight; the others take its load; it gets traffic again when it returns', async () => {
    const [first, killed, third] = replicas;
    const load = new SteadyLoad(client, changes);
    try {
      await changes.until(() => replicas.every((replica) => replica.served >= 50), 'every replica to serve 50 calls', 60_000);

      const servedAtKill = replicas.map((replica) => replica.served);
      const killedAt = performance.now();
      const cut = new Set(killed.kill());
      await changes.until(() => first.served >= servedAtKill[0] + 200 && third.served >= servedAtKill[2] + 200, 'the two others to serve 200 more calls each', 60_000);
      const failuresWhileDown = load.failures.length;
      expect(killed.served).toBe(servedAtKill[1]);

      await killed.start();
      await changes.until(() => killed.firstCallAt !== undefined, 'the restarted replica to get a call', 60_000);
      const rebalanceMs = killed.firstCallAt! - killed.startedAt;
      const servedAtReturn = replicas.map((replica) => replica.served);
      await changes.until(() => killed.served >= servedAtReturn[1] + 300, 'the restarted replica to serve 300 calls', 60_000);
      const share = replicas.map((replica, i) => replica.served - servedAtReturn[i]);
      await load.stop();

      const failures = load.failures;
      const others = new Set([...first.seen, ...third.seen]);
      // Every failed call was on the killed replica's connection: running in its handler when it was
      // killed, answered but the reply cut off, or sent and never read. None reached another replica
      // or started after the restart. They fail UNAVAILABLE (the connection was lost) or CANCELLED
      // (forceShutdown resets the calls it cancels with RST_STREAM(CANCEL), ours as grpc-js's), or,
      // with our server only, INTERNAL "ended the stream without a status": a response complete but
      // for its trailers (Node asks for them a turn later) when the connection is destroyed; Node
      // then ends the stream with END_STREAM before its RST_STREAM(CANCEL).
      const inHandler = failures.filter((failure) => cut.has(failure.id)).length;
      const replyLost = failures.filter((failure) => !cut.has(failure.id) && killed.seen.has(failure.id)).length;
      for (const failure of failures) {
        expect(others.has(failure.id)).toBe(false);
        expect(failure.startedAt).toBeLessThan(killed.startedAt);
        expect(failure.error!.codeName === 'INTERNAL' ? failure.error!.message : failure.error!.codeName).toMatch(/^(UNAVAILABLE|CANCELLED|The server ended the stream without a status)$/);
      }
      expect(failures.length).toBe(failuresWhileDown);
      expect(failures.length).toBeLessThanOrEqual(CALLERS);
      // Back in the rotation: a fair share of the calls since its first (a third, by round_robin).
      const total = share.reduce((sum, count) => sum + count, 0);
      for (const count of share) expect(count / total).toBeGreaterThan(0.2);

      console.log(
        [
          `failover (${kind} replicas): ${load.outcomes.length} calls, ${CALLERS} in flight continuously`,
          `killed replica had ${cut.size} calls in its handlers; ${failures.length} calls failed (${failures.map((failure) => failure.error!.codeName).join(', ')}):`,
          `  ${inHandler} in its handlers, ${replyLost} answered with the reply cut off, ${failures.length - inHandler - replyLost} sent but never read`,
          `failed calls started ${failures.map((failure) => (failure.startedAt - killedAt).toFixed(1)).join(', ')} ms from the kill`,
          `rebalance: first call on the restarted replica ${rebalanceMs.toFixed(0)} ms after it listened again (backoff 1 s × 1.6 ±20 %)`,
          `calls served from its first call on: ${share.join(' / ')}`,
        ].join('\n'),
      );
    } finally {
      await load.stop();
    }
  }, 120_000);
});
