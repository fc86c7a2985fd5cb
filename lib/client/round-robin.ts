/**
 * The `round_robin` load-balancing policy.
 */
import type { LoadBalancer } from './load-balancer.js';
import { ConnectivityState, type Subchannel } from './subchannel.js';

/**
 * Connects to every address and sends each call to the next Ready subchannel in turn. A
 * subchannel that fails is skipped until it reconnects: once the first call has started the
 * policy, every subchannel that goes Idle (a lost connection, or the end of a backoff delay) is
 * reconnected at once, in the background, so a failed address is retried with backoff.
 */
export class RoundRobin implements LoadBalancer {
  private next = 0;
  private started = false;

  /** The next Ready subchannel after the last one picked; else one that is connecting. */
  pick(subchannels: readonly Subchannel[]): Subchannel | undefined {
    this.started = true;
    this.connectIdle(subchannels);
    const count = subchannels.length;
    for (let i = 0; i < count; i++) {
      const subchannel = subchannels[(this.next + i) % count];
      if (subchannel.state === ConnectivityState.Ready) {
        this.next = (this.next + i + 1) % count;
        return subchannel;
      }
    }
    return subchannels.find((subchannel) => subchannel.state === ConnectivityState.Connecting);
  }

  /** Reconnects Idle subchannels once started. */
  onStateChange(subchannels: readonly Subchannel[]): void {
    if (this.started) this.connectIdle(subchannels);
  }

  private connectIdle(subchannels: readonly Subchannel[]): void {
    for (const subchannel of subchannels) if (subchannel.state === ConnectivityState.Idle) subchannel.connect();
  }
}
