/**
 * One connection to one address (an IP and port, or a unix socket): connects on demand,
 * reports its state, hands out streams within the server's MAX_CONCURRENT_STREAMS (queueing
 * the rest), keeps the connection alive with PINGs when asked, and backs off after failed
 * attempts.
 */
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { GrpcError } from '../protocol/grpc-error.js';
import type { HeaderBlock } from '../protocol/headers.js';
import { Status } from '../protocol/status.js';
import { MAX_TIMER_DELAY_MS } from '../protocol/timeout.js';
import { Fifo } from '../transport/fifo.js';
import { backoffDelayMs } from './backoff.js';
import { Keepalive } from './keepalive.js';
import type { BackoffOptions, ClientCredentials } from './client-options.js';
import { type Address, formatAddress, type Target } from './target.js';

/** Every stream is opened with its request side open: the call writes and ends it. */
const REQUEST_OPTIONS: http2.ClientSessionRequestOptions = Object.freeze({ endStream: false });

const goawayLastStreamIds = new WeakMap<http2.ClientHttp2Session, number>();

/**
 * Whether the server said, with a GOAWAY on `session`, that it never processed stream `streamId`
 * (the stream is above the GOAWAY's last stream id): such a call may be sent again. Node destroys
 * a session on a GOAWAY with an error code before nghttp2 refuses those streams, so the stream's
 * reset code alone does not tell.
 */
export function unseenByServer(session: http2.ClientHttp2Session, streamId: number | undefined): boolean {
  const last = goawayLastStreamIds.get(session);
  return last !== undefined && streamId !== undefined && streamId > last;
}

/** gRPC's connectivity states of one connection. */
export enum ConnectivityState {
  Idle,
  Connecting,
  Ready,
  TransientFailure,
  Shutdown,
}

/** What a subchannel needs to connect. */
export interface ConnectionSettings {
  credentials: ClientCredentials | undefined;
  connectTimeoutMs: number;
  keepaliveTimeMs: number | undefined;
  keepaliveTimeoutMs: number;
  backoff: Required<BackoffOptions>;
}

/** A request for a stream that waits for the connection, or for a free stream slot. */
export interface SlotWaiter {
  readonly headers: Readonly<HeaderBlock>;
  /** The stream was opened. */
  opened(stream: http2.ClientHttp2Stream): void;
  /** No stream can be opened here: UNAVAILABLE (the connection attempt failed, the subchannel shut down or Node refused the stream). */
  failed(error: GrpcError): void;
}

/**
 * A connection with gRPC's state machine: Idle → Connecting → Ready; a lost connection goes
 * back to Idle (reconnected by the next call, or by the load-balancing policy), a failed
 * attempt to TransientFailure for a backoff delay, then Idle. `onStateChange` runs on every
 * transition with the state left. `:authority` and the TLS server name are the target's
 * (the DNS name, not the resolved IP).
 */
export class Subchannel {
  state = ConnectivityState.Idle;
  /** Why the last connection attempt failed, naming the address, for error messages; empty before any failure. */
  lastError = '';
  /** The address as `host:port` or `unix:path`. */
  readonly name: string;
  /** The authority to send: the target's (`host:port` of the name, `localhost` for unix sockets), its host replaced by the TLS name override if any. */
  readonly authority: string;
  private lastSessionError = '';
  private retiring = false;
  private session: http2.ClientHttp2Session | undefined;
  private active = 0;
  private readonly queue = new Fifo<SlotWaiter>();
  private failures = 0;
  private backoffTimer: NodeJS.Timeout | undefined;
  private keepalive: Keepalive | undefined;
  /** The keepalive interval in use: doubled each time a server says `too_many_pings`, as gRPC clients do. */
  private keepaliveTimeMs: number | undefined;

  constructor(
    readonly address: Address,
    readonly target: Target,
    private readonly settings: ConnectionSettings,
    private readonly onStateChange: (previous: ConnectivityState) => void,
  ) {
    this.keepaliveTimeMs = settings.keepaliveTimeMs;
    this.name = formatAddress(address);
    const override = settings.credentials?.serverNameOverride;
    const port = /:(\d+)$/.exec(target.authority)?.[1];
    this.authority = !override ? target.authority : port === undefined ? override : `${override}:${port}`;
  }

  /** The scheme of `:scheme`: https with TLS. */
  get scheme(): 'http' | 'https' {
    return this.settings.credentials ? 'https' : 'http';
  }

  private setState(state: ConnectivityState): void {
    const previous = this.state;
    if (previous === state || previous === ConnectivityState.Shutdown) return;
    this.state = state;
    this.onStateChange(previous);
  }

  /** Starts connecting if Idle. */
  connect(): void {
    if (this.state !== ConnectivityState.Idle) return;
    this.setState(ConnectivityState.Connecting);
    this.lastSessionError = '';
    const credentials = this.settings.credentials;
    const address = this.address;
    // The socket is made here so it can be destroyed on error: Node's session neither closes nor
    // reports it when a TLS alert errors the socket after the handshake (a TLS 1.3 server
    // refusing the client certificate), and the attempt would hang.
    const socket: net.Socket = credentials
      ? tls.connect({
          ...address,
          ca: credentials.ca,
          cert: credentials.cert,
          key: credentials.key,
          servername: credentials.serverNameOverride ?? this.target.serverName,
          ALPNProtocols: ['h2'],
        })
      : net.connect(address);
    socket.once('error', () => socket.destroy());
    const url = `${this.scheme}://${'host' in address ? this.name : 'localhost'}`;
    const session = http2.connect(url, { settings: { enablePush: false }, createConnection: () => socket });
    this.session = session;
    const timeout = setTimeout(() => session.destroy(new Error('connection attempt timed out')), this.settings.connectTimeoutMs);
    timeout.unref();
    session.on('error', (error: Error) => {
      this.lastSessionError = error.message;
    });
    session.once('remoteSettings', () => {
      clearTimeout(timeout);
      if (this.session !== session) return;
      this.failures = 0;
      this.active = 0;
      this.setState(ConnectivityState.Ready);
      if (this.keepaliveTimeMs !== undefined) this.keepalive = new Keepalive(session, this.keepaliveTimeMs, this.settings.keepaliveTimeoutMs);
      this.drainQueue();
      if (this.active === 0) session.unref();
    });
    session.on('goaway', (code: number, lastStreamId: number, data?: Buffer) => {
      goawayLastStreamIds.set(session, lastStreamId);
      if (code === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM && data?.toString() === 'too_many_pings' && this.keepaliveTimeMs !== undefined) {
        this.keepaliveTimeMs = Math.min(this.keepaliveTimeMs * 2, MAX_TIMER_DELAY_MS);
      }
      this.detach(session, false);
      session.close();
    });
    session.on('close', () => {
      clearTimeout(timeout);
      this.detach(session, true);
    });
  }

  /** Forgets a session that is going away: no new streams go to it; the next call reconnects. */
  private detach(session: http2.ClientHttp2Session, closed: boolean): void {
    if (this.session !== session) return;
    this.session = undefined;
    this.stopKeepalive();
    if (this.state === ConnectivityState.Connecting && closed) this.failAttempt();
    else this.setState(ConnectivityState.Idle);
    if (this.state === ConnectivityState.Idle && this.queue.length > 0) this.connect();
    this.shutdownIfRetired();
  }

  private failAttempt(): void {
    const delay = backoffDelayMs(this.settings.backoff, this.failures++);
    const where = 'host' in this.address && this.target.kind === 'dns' ? `${this.name} (${this.target.text.trim()})` : this.name;
    this.lastError = `Failed to connect to ${where}: ${this.lastSessionError || 'connection closed'}`;
    const error = new GrpcError(Status.UNAVAILABLE, this.lastError);
    for (const waiter of this.queue.drain()) waiter.failed(error);
    this.setState(ConnectivityState.TransientFailure);
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = undefined;
      this.setState(ConnectivityState.Idle);
    }, delay);
    this.backoffTimer.unref();
  }

  private stopKeepalive(): void {
    this.keepalive?.stop();
    this.keepalive = undefined;
  }

  private get capacity(): number {
    return this.session?.remoteSettings.maxConcurrentStreams ?? 0;
  }

  /**
   * Opens a stream with these request headers now if the connection is Ready with a free stream
   * slot (undefined otherwise); throws UNAVAILABLE when Node refuses to start it.
   */
  openNow(headers: Readonly<HeaderBlock>): http2.ClientHttp2Stream | undefined {
    const session = this.session;
    if (session === undefined || this.state !== ConnectivityState.Ready || this.queue.length > 0 || this.active >= this.capacity) return undefined;
    return this.startStream(session, headers);
  }

  /**
   * Queues `waiter` until the connection is Ready and a stream slot is free (connecting if
   * Idle); it fails UNAVAILABLE when the connection attempt fails. Call only when Ready or
   * Connecting.
   */
  enqueue(waiter: SlotWaiter): void {
    this.queue.push(waiter);
    if (this.state === ConnectivityState.Idle) this.connect();
    else this.drainQueue();
  }

  /** Withdraws a queued waiter (its call was cancelled before a slot was free). */
  withdraw(waiter: SlotWaiter): void {
    this.queue.remove((queued) => queued === waiter);
    this.shutdownIfRetired();
  }

  /**
   * Retires a subchannel whose address is gone from its name's resolution: it gets no new
   * calls from the channel and shuts down once the calls it carries or queues have ended.
   */
  retire(): void {
    this.retiring = true;
    this.shutdownIfRetired();
  }

  private shutdownIfRetired(): void {
    if (!this.retiring || this.queue.length > 0) return;
    if (this.state !== ConnectivityState.Ready || this.active === 0) this.shutdown();
  }

  private drainQueue(): void {
    const session = this.session;
    if (session === undefined || this.state !== ConnectivityState.Ready) return;
    while (this.queue.length > 0 && this.active < this.capacity) {
      const waiter = this.queue.shift() as SlotWaiter;
      let stream: http2.ClientHttp2Stream;
      try {
        stream = this.startStream(session, waiter.headers);
      } catch (error) {
        waiter.failed(error as GrpcError);
        continue;
      }
      waiter.opened(stream);
    }
  }

  /** Starts a stream on the Ready session and counts it until it closes; throws UNAVAILABLE when Node refuses it. */
  private startStream(session: http2.ClientHttp2Session, headers: Readonly<HeaderBlock>): http2.ClientHttp2Stream {
    if (this.active === 0) session.ref();
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headers, REQUEST_OPTIONS);
    } catch (error) {
      if (this.active === 0) session.unref();
      throw new GrpcError(Status.UNAVAILABLE, `Could not start a stream: ${(error as Error).message}`);
    }
    this.active++;
    stream.on('close', () => this.streamClosed(session));
    return stream;
  }

  private streamClosed(session: http2.ClientHttp2Session): void {
    if (this.session !== session) return;
    this.active--;
    this.drainQueue();
    // An idle connection does not keep the process alive; one with calls in flight does.
    if (this.active === 0) session.unref();
    this.shutdownIfRetired();
  }

  /** Closes the connection at once (calls on it end UNAVAILABLE) and stops reconnecting; queued requests fail UNAVAILABLE. Idempotent. */
  shutdown(): void {
    if (this.state === ConnectivityState.Shutdown) return;
    this.setState(ConnectivityState.Shutdown);
    if (this.backoffTimer !== undefined) clearTimeout(this.backoffTimer);
    this.stopKeepalive();
    const error = new GrpcError(Status.UNAVAILABLE, 'The client was closed');
    for (const waiter of this.queue.drain()) waiter.failed(error);
    // destroy, not close: a graceful close would let calls in flight run on, unbounded.
    this.session?.destroy();
    this.session = undefined;
  }
}
