/**
 * A channel: the connections of one client to the addresses of its targets, and the choice of
 * which one carries each call (by the load-balancing policy).
 */
import http2 from 'node:http2';
import { GrpcError } from '../protocol/grpc-error.js';
import type { HeaderBlock } from '../protocol/headers.js';
import { Status } from '../protocol/status.js';
import type { LoadBalancer, LoadBalancingPolicy } from './load-balancer.js';
import { PickFirst } from './pick-first.js';
import { NameResolver, type ResolutionSettings } from './resolver.js';
import { RoundRobin } from './round-robin.js';
import { ConnectivityState, type ConnectionSettings, Subchannel } from './subchannel.js';
import { formatAddress, parseTarget } from './target.js';

/** How a call asks for a stream. */
export interface PickOptions {
  /** Wait through failed connection attempts instead of failing UNAVAILABLE. */
  waitForReady: boolean;
  /** Aborted when the call is cancelled or its deadline passes; its reason is the rejection. */
  signal: AbortSignal;
}

/** What a channel needs: how to connect, how to resolve names, and the load-balancing policy. */
export interface ChannelSettings extends ConnectionSettings {
  /** When DNS names are resolved again. */
  resolution: ResolutionSettings;
  /** `pick_first` or `round_robin`; anything else is a TypeError. */
  loadBalancingPolicy: LoadBalancingPolicy;
}

/**
 * Connections to the addresses of one or more targets (the addresses of all targets are pooled,
 * in order). Nothing resolves or connects until the first call (or `connect()`). A DNS name is
 * re-resolved when a connection is lost or an attempt fails, and every `refreshIntervalMs`;
 * subchannels of addresses that remain are kept, those of removed addresses are retired once
 * their calls end. The policy picks a Ready subchannel, or one connecting that the call waits
 * on; while names are first being resolved calls wait; once nothing can connect (every address
 * in backoff, or no name resolved) calls fail UNAVAILABLE naming why, unless `waitForReady`.
 */
export class Channel {
  private readonly resolvers: NameResolver[];
  private readonly subchannels = new Map<string, Subchannel>();
  private list: Subchannel[] = [];
  private readonly policy: LoadBalancer;
  private readonly watchers = new Set<() => void>();
  private started = false;
  private closed = false;

  constructor(
    targets: readonly string[],
    private readonly settings: ChannelSettings,
  ) {
    if (targets.length === 0) throw new TypeError('A client needs at least one target');
    this.resolvers = targets.map((target) => new NameResolver(parseTarget(target), settings.resolution, () => this.update()));
    const policy = settings.loadBalancingPolicy;
    if (policy !== 'pick_first' && policy !== 'round_robin') throw new TypeError(`Unknown load-balancing policy ${JSON.stringify(policy)}: expected pick_first or round_robin`);
    this.policy = policy === 'round_robin' ? new RoundRobin() : new PickFirst();
  }

  /** Starts resolving names, once, and builds the subchannels of the addresses known so far. */
  private start(): void {
    if (this.started) return;
    this.started = true;
    for (const resolver of this.resolvers) resolver.start();
    this.update();
  }

  /** Rebuilds the subchannel list from the resolvers' addresses, keeping existing subchannels and retiring removed ones. */
  private update(): void {
    if (this.closed) return;
    const list: Subchannel[] = [];
    const kept = new Set<string>();
    for (const resolver of this.resolvers) {
      for (const address of resolver.addresses ?? []) {
        const key = formatAddress(address);
        if (kept.has(key)) continue;
        kept.add(key);
        let subchannel = this.subchannels.get(key);
        if (subchannel === undefined) {
          const created: Subchannel = new Subchannel(address, resolver.target, this.settings, (previous) => this.onStateChange(created, previous));
          subchannel = created;
          this.subchannels.set(key, subchannel);
        }
        list.push(subchannel);
      }
    }
    for (const [key, subchannel] of this.subchannels) {
      if (kept.has(key)) continue;
      this.subchannels.delete(key);
      subchannel.retire();
    }
    this.list = list;
    this.notify();
  }

  private onStateChange(subchannel: Subchannel, previous: ConnectivityState): void {
    const lost = previous === ConnectivityState.Ready || subchannel.state === ConnectivityState.TransientFailure;
    if (lost && this.subchannels.get(subchannel.name) === subchannel) {
      for (const resolver of this.resolvers) resolver.refresh();
    }
    this.notify();
  }

  private notify(): void {
    if (this.closed) return;
    this.policy.onStateChange(this.list);
    for (const watcher of [...this.watchers]) watcher();
  }

  private waitForChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        this.watchers.delete(done);
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.watchers.delete(done);
        reject(signal.reason);
      };
      this.watchers.add(done);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Why no subchannel can be used: the failed attempts and failed resolutions. */
  private failure(prefix: string): GrpcError {
    const reasons = [...this.resolvers.map((resolver) => resolver.error), ...this.list.map((subchannel) => subchannel.lastError)].filter(Boolean);
    return new GrpcError(Status.UNAVAILABLE, `${prefix}: ${reasons.join('; ') || 'no address to connect to'}`);
  }

  /**
   * A subchannel for a call (Ready, or Connecting to wait on); undefined while names are first
   * being resolved; throws UNAVAILABLE when nothing can connect and the call does not wait.
   */
  private pick(waitForReady: boolean, prefix: string): Subchannel | undefined {
    if (this.closed) throw new GrpcError(Status.UNAVAILABLE, 'The client was closed');
    this.start();
    const subchannel = this.policy.pick(this.list);
    if (subchannel !== undefined || waitForReady || this.resolvers.some((resolver) => resolver.pending)) return subchannel;
    throw this.failure(prefix);
  }

  /** Opens a stream for a call on a chosen connection. Rejects UNAVAILABLE, or with the signal's reason. */
  async openStream(headers: (subchannel: Subchannel) => HeaderBlock, options: PickOptions): Promise<http2.ClientHttp2Stream> {
    for (;;) {
      if (options.signal.aborted) throw options.signal.reason;
      const subchannel = this.pick(options.waitForReady, 'No connection available');
      if (subchannel === undefined) {
        await this.waitForChange(options.signal);
        continue;
      }
      const block = headers(subchannel);
      const onAbort = () => subchannel.withdraw(block);
      options.signal.addEventListener('abort', onAbort, { once: true });
      const opening = subchannel.openStream(block);
      // A stream opened after the call was abandoned is closed at once.
      opening.then((stream) => options.signal.aborted && stream.close(http2.constants.NGHTTP2_CANCEL), () => undefined);
      try {
        return await Promise.race([opening, this.aborted(options.signal)]);
      } catch (error) {
        if (options.signal.aborted) throw options.signal.reason;
        // A Ready subchannel that could not start a stream has a problem picking again would not cure.
        if (subchannel.state === ConnectivityState.Ready) throw error;
        // Otherwise its connection attempt failed or it was lost: pick again (maybe another address).
      } finally {
        options.signal.removeEventListener('abort', onAbort);
      }
    }
  }

  private aborted(signal: AbortSignal): Promise<never> {
    return new Promise((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  }

  /** Resolves names and connects as the policy would for a call; resolves once a subchannel is Ready, rejects UNAVAILABLE when none can be. */
  async connect(signal: AbortSignal = new AbortController().signal): Promise<void> {
    for (;;) {
      if (this.list.some((subchannel) => subchannel.state === ConnectivityState.Ready)) return;
      this.pick(false, 'Could not connect');
      await this.waitForChange(signal);
    }
  }

  /** Closes every connection and stops resolving; calls after this fail UNAVAILABLE. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const resolver of this.resolvers) resolver.close();
    for (const subchannel of this.subchannels.values()) subchannel.shutdown();
    for (const watcher of [...this.watchers]) watcher();
  }
}
