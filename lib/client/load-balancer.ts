/**
 * What a load-balancing policy does: choose the subchannel of each call among a channel's
 * subchannels (one per resolved address, in resolution order), and decide which to connect.
 */
import type { GrpcClientOptions } from './client-options.js';
import type { Subchannel } from './subchannel.js';

/** The load-balancing policies: `pick_first` (the default) and `round_robin`, as gRPC names them. */
export type LoadBalancingPolicy = NonNullable<GrpcClientOptions['loadBalancingPolicy']>;

/**
 * A load-balancing policy's state for one channel. `pick` is given the channel's current
 * subchannels each time (the list changes when names are re-resolved).
 */
export interface LoadBalancer {
  /**
   * The subchannel for the next call: a Ready one, else one that is Connecting (the call waits
   * on it); starts connections as the policy wants. Undefined when none is Ready or Connecting
   * and none can be started (every one is in backoff after a failure).
   */
  pick(subchannels: readonly Subchannel[]): Subchannel | undefined;
  /** Told after any subchannel changes state, to reconnect what the policy keeps connected. */
  onStateChange(subchannels: readonly Subchannel[]): void;
}
