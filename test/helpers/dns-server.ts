/**
 * A tiny authoritative DNS server over UDP on 127.0.0.1:0 for client resolution tests: it
 * answers A queries for the names it is given (changeable at any time), NOERROR with no answer
 * for other record types of those names, and NXDOMAIN for every other name. Clients reach it
 * with targets of the form `dns://127.0.0.1:PORT/name:port`.
 */
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

/** The NXDOMAIN response code, in the low bits of the flags. */
const NXDOMAIN = 3;

/** A running test DNS server. */
export class TestDnsServer {
  private readonly records = new Map<string, string[]>();
  private readonly times = new Map<string, number[]>();
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly socket: dgram.Socket,
    /** The UDP port it answers on. */
    readonly port: number,
  ) {
    socket.on('message', (message, peer) => this.answer(message, peer));
  }

  /** Starts a server on 127.0.0.1:0. */
  static async start(): Promise<TestDnsServer> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    return new TestDnsServer(socket, socket.address().port);
  }

  /** `dns://127.0.0.1:PORT/name:port`: a target resolved by this server. */
  target(name: string, port: number): string {
    return `dns://127.0.0.1:${this.port}/${name}:${port}`;
  }

  /** Answers A queries for `name` with these IPv4 addresses from now on (none: NXDOMAIN). */
  setA(name: string, addresses: string[]): void {
    if (addresses.length === 0) this.records.delete(name.toLowerCase());
    else this.records.set(name.toLowerCase(), addresses);
  }

  /** How many A queries for `name` have been answered. */
  queries(name: string): number {
    return this.queryTimes(name).length;
  }

  /** When (performance.now()) each A query for `name` was answered. */
  queryTimes(name: string): number[] {
    return this.times.get(name.toLowerCase()) ?? [];
  }

  /** Resolves once more than `count` A queries for `name` have been answered. */
  async queried(name: string, count: number): Promise<void> {
    while (this.queries(name) <= count) {
      await new Promise<void>((resolve) => this.waiters.add(resolve));
    }
  }

  private answer(message: Buffer, peer: dgram.RemoteInfo): void {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (question === undefined) return;
    const name = question.name.toLowerCase();
    const addresses = this.records.get(name);
    const answers: dnsPacket.Answer[] =
      question.type === 'A' ? (addresses ?? []).map((data) => ({ type: 'A', name: question.name, ttl: 0, class: 'IN', data })) : [];
    const response = dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (addresses === undefined ? NXDOMAIN : 0),
      questions: [question],
      answers,
    });
    if (question.type === 'A') this.times.set(name, [...this.queryTimes(name), performance.now()]);
    this.socket.send(response, peer.port, peer.address, () => {
      for (const wake of [...this.waiters]) {
        this.waiters.delete(wake);
        wake();
      }
    });
  }

  /** Stops answering. */
  close(): void {
    this.socket.close();
  }
}
