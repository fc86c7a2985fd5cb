/**
 * A channel: the connections of one client to the addresses of its targets, and the choice of
 * which one carries each call (by the load-balancing policy).
 */
import http2 from 'node:http2';
import { GrpcError } from '../protocol/grpc-error.js';
import type { HeaderBlock } from '../protocol/headers.js';
import { Status } from '../protocol/status.js';
import type { CancellationSignal } from '../transport/call-cancellation.js';
import type { LoadBalancer, LoadBalancingPolicy } from './load-balancer.js';
import { PickFirst } from './pick-first.js';
import { NameResolver, type ResolutionSettings } from './resolver.js';
import { RoundRobin } from './round-robin.js';
import { ConnectivityState, type ConnectionSettings, type SlotWaiter, Subchannel } from './subchannel.js';
import { formatAddress, parseTarget } from './target.js';

/** How a call asks for a stream, and hears of the outcome. */
export interface StreamRequest {
  /** Wait through failed connection attempts instead of failing UNAVAILABLE. */
  readonly waitForReady: boolean;
  /** Aborted when the call is cancelled or its deadline passes; its reason is then the failure. */
  readonly signal: CancellationSignal;
  /** The request headers for a stream on the chosen subchannel. */
  requestHeaders(subchannel: Subchannel): Readonly<HeaderBlock>;
  /** The stream is open. */
  opened(stream: http2.ClientHttp2Stream): void;
  /** No stream: UNAVAILABLE, or the signal's reason. */
  failed(error: unknown): void;
}

/**
 * A stream request to queue on a subchannel until it is Ready with a free slot (it listens for
 * the abort from construction, so enqueue it right away). A failure of a
 * subchannel that is not Ready (its connection attempt failed, or it was lost) picks again,
 * maybe another address; aborting withdraws it.
 */
class QueuedRequest implements SlotWaiter {
  private readonly onAbort = () => {
    this.subchannel.withdraw(this);
    this.request.failed(this.request.signal.reason);
  };

  constructor(
    private readonly channel: Channel,
    private readonly subchannel: Subchannel,
    readonly headers: Readonly<HeaderBlock>,
    private readonly request: StreamRequest,
  ) {
    request.signal.addEventListener('abort', this.onAbort, { once: true });
  }

  opened(stream: http2.ClientHttp2Stream): void {
    this.request.signal.removeEventListener('abort', this.onAbort);
    this.request.opened(stream);
  }

  failed(error: GrpcError): void {
    this.request.signal.removeEventListener('abort', this.onAbort);
    // A Ready subchannel that could not start a stream has a problem picking again would not cure.
    if (this.subchannel.state === ConnectivityState.Ready) this.request.failed(error);
    // Otherwise pick again once the subchannel has finished changing state.
    else queueMicrotask(() => this.channel.openStream(this.request));
  }
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

  /** Runs `watcher` once, at the next change of state (or when the channel closes); returns a function that forgets it. */
  private onNextChange(watcher: () => void): () => void {
    const once = () => {
      this.watchers.delete(once);
      watcher();
    };
    this.watchers.add(once);
    return () => this.watchers.delete(once);
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

  /**
   * Opens a stream for a call on a chosen connection: at once when the policy picks a Ready
   * subchannel with a free slot, else once one is; reports UNAVAILABLE, or the signal's reason.
   */
  openStream(request: StreamRequest): void {
    const signal = request.signal;
    if (signal.aborted) return request.failed(signal.reason);
    let subchannel: Subchannel | undefined;
    try {
      subchannel = this.pick(request.waitForReady, 'No connection available');
    } catch (error) {
      return request.failed(error);
    }
    if (subchannel === undefined) {
      const onAbort = () => {
        forget();
        request.failed(signal.reason);
      };
      const forget = this.onNextChange(() => {
        signal.removeEventListener('abort', onAbort);
        queueMicrotask(() => this.openStream(request));
      });
      signal.addEventListener('abort', onAbort, { once: true });
      return;
    }
    const headers = request.requestHeaders(subchannel);
    let stream: http2.ClientHttp2Stream | undefined;
    try {
      stream = subchannel.openNow(headers);
    } catch (error) {
      return request.failed(error);
    }
    if (stream === undefined) subchannel.enqueue(new QueuedRequest(this, subchannel, headers, request));
    else request.opened(stream);
  }

  /** Resolves names and connects as the policy would for a call; resolves once a subchannel is Ready, rejects UNAVAILABLE when none can be. */
  async connect(): Promise<void> {
    for (;;) {
      if (this.list.some((subchannel) => subchannel.state === ConnectivityState.Ready)) return;
      this.pick(false, 'Could not connect');
      await new Promise<void>((resolve) => this.onNextChange(resolve));
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
