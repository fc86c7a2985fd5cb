/**
 * The `pick_first` load-balancing policy.
 */
import type { LoadBalancer } from './load-balancer.js';
import { ConnectivityState, type Subchannel } from './subchannel.js';

/**
 * gRPC's default policy: addresses are tried one at a time, in resolution order, and every call
 * goes to the first that connects, for as long as it stays connected. When it is lost the
 * next call starts again from the first address (the lost one is tried first when it heads
 * the list); addresses in backoff after a failure are passed over. Only one connection is
 * open at a time.
 */
export class PickFirst implements LoadBalancer {
  private selected: Subchannel | undefined;

  /** The selected subchannel while Ready; else the one connecting, or the first Idle one, started. */
  pick(subchannels: readonly Subchannel[]): Subchannel | undefined {
    if (this.selected?.state === ConnectivityState.Ready && subchannels.includes(this.selected)) return this.selected;
    this.selected = subchannels.find((subchannel) => subchannel.state === ConnectivityState.Ready);
    if (this.selected !== undefined) return this.selected;
    const connecting = subchannels.find((subchannel) => subchannel.state === ConnectivityState.Connecting);
    if (connecting !== undefined) return connecting;
    const idle = subchannels.find((subchannel) => subchannel.state === ConnectivityState.Idle);
    idle?.connect();
    return idle;
  }

  /** Nothing to do: pick_first connects only when a call needs a connection. */
  onStateChange(): void {}
}
