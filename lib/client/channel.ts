/**
 * A channel: the connections of one client to its targets, and the choice of which one carries
 * each call (round-robin over Ready connections).
 */
import http2 from 'node:http2';
import { GrpcError } from '../protocol/grpc-error.js';
import type { HeaderBlock } from '../protocol/headers.js';
import { Status } from '../protocol/status.js';
import { ConnectivityState, type ConnectionSettings, Subchannel } from './subchannel.js';
import { parseTarget } from './target.js';

/** How a call asks for a stream. */
export interface PickOptions {
  /** Wait through failed connection attempts instead of failing UNAVAILABLE. */
  waitForReady: boolean;
  /** Aborted when the call is cancelled or its deadline passes; its reason is the rejection. */
  signal: AbortSignal;
}

/**
 * Connections to one or more targets. Nothing connects until the first call (or `connect()`).
 * A call goes to the next Ready connection in turn; while none is Ready it waits for one that
 * is connecting, and fails UNAVAILABLE once every target has failed (unless waitForReady).
 */
export class Channel {
  private readonly subchannels: Subchannel[];
  private next = 0;
  private readonly watchers = new Set<() => void>();
  private closed = false;

  constructor(targets: readonly string[], settings: ConnectionSettings) {
    if (targets.length === 0) throw new TypeError('A client needs at least one target');
    this.subchannels = targets.map((target) => new Subchannel(parseTarget(target), settings, () => this.notify()));
  }

  private notify(): void {
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

  /** A connection to use now: the next Ready one, else one still connecting; undefined when there is none. */
  private pick(): Subchannel | undefined {
    const count = this.subchannels.length;
    for (let i = 0; i < count; i++) {
      const subchannel = this.subchannels[(this.next + i) % count];
      if (subchannel.state === ConnectivityState.Ready) {
        this.next = (this.next + i + 1) % count;
        return subchannel;
      }
    }
    for (const subchannel of this.subchannels) subchannel.connect();
    return this.subchannels.find((subchannel) => subchannel.state === ConnectivityState.Connecting);
  }

  /** Opens a stream for a call on a chosen connection. Rejects UNAVAILABLE, or with the signal's reason. */
  async openStream(headers: (subchannel: Subchannel) => HeaderBlock, options: PickOptions): Promise<http2.ClientHttp2Stream> {
    for (;;) {
      if (this.closed) throw new GrpcError(Status.UNAVAILABLE, 'The client was closed');
      if (options.signal.aborted) throw options.signal.reason;
      const subchannel = this.pick();
      if (subchannel === undefined) {
        if (!options.waitForReady) {
          const reasons = this.subchannels.map((sub) => sub.lastError).filter(Boolean);
          throw new GrpcError(Status.UNAVAILABLE, `No connection available: ${reasons.join('; ') || 'all targets failed'}`);
        }
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
        const another = this.subchannels.some((sub) => sub.state === ConnectivityState.Ready || sub.state === ConnectivityState.Connecting);
        if (!options.waitForReady && !another) throw error;
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

  /** Connects every target and resolves once one is Ready; rejects UNAVAILABLE when all fail. */
  async connect(signal: AbortSignal = new AbortController().signal): Promise<void> {
    for (;;) {
      if (this.subchannels.some((sub) => sub.state === ConnectivityState.Ready)) return;
      if (this.pick() === undefined) {
        const reasons = this.subchannels.map((sub) => sub.lastError).filter(Boolean);
        throw new GrpcError(Status.UNAVAILABLE, `Could not connect: ${reasons.join('; ') || 'all targets failed'}`);
      }
      await this.waitForChange(signal);
    }
  }

  /** Closes every connection; calls after this fail UNAVAILABLE. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const subchannel of this.subchannels) subchannel.shutdown();
    this.notify();
  }
}
