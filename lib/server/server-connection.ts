/**
 * `ServerConnection`, the server's guard over one HTTP/2 connection: it counts the connection's
 * streams, closes it when idle, too old, dead (unanswered keepalive PINGs) or abusive (PING
 * floods, Rapid Reset), and bounds the time a peer may take to start speaking HTTP/2.
 */
import http2 from 'node:http2';
import { clampTimerDelay } from '../protocol/timeout.js';

/** The connection-level limits of a GrpcServer; every one has a default. */
export interface ConnectionOptions {
  /** Concurrent calls per connection, advertised as SETTINGS_MAX_CONCURRENT_STREAMS (default 1000). */
  maxConcurrentStreams?: number;
  /** Largest request header list in bytes, advertised as SETTINGS_MAX_HEADER_LIST_SIZE (default 16 KiB); a larger one resets that stream ENHANCE_YOUR_CALM. */
  maxHeaderListSize?: number;
  /** Most header fields in one request header block (default 128, Node's); more resets that stream ENHANCE_YOUR_CALM. */
  maxHeaderListPairs?: number;
  /** Memory one connection may use inside node:http2 (HPACK tables, frames being parsed or sent), in megabytes (default 10, Node's); beyond it new streams are refused. */
  maxSessionMemory?: number;
  /** Invalid frames (e.g. empty DATA frames without END_STREAM) tolerated on a connection before it is closed (default 1000, Node's). */
  maxSessionInvalidFrames?: number;
  /** Streams node:http2 may refuse in a row (over its limits) before it closes the connection (default 100, Node's). */
  maxSessionRejectedStreams?: number;
  /** A connection without calls for this long is closed with GOAWAY(NO_ERROR, `max_idle`) (default 600 000 ms; Infinity for never). */
  maxConnectionIdleMs?: number;
  /** A connection is sent GOAWAY(NO_ERROR, `max_age`) after this long, ±10 % (default Infinity); its calls may finish within `maxConnectionAgeGraceMs`. */
  maxConnectionAgeMs?: number;
  /** How long calls may run on after a `max_age` GOAWAY before the connection is closed and they are cancelled (default Infinity). */
  maxConnectionAgeGraceMs?: number;
  /** Interval of the server's keepalive PINGs on each connection (default 7 200 000 ms, two hours; Infinity for none). */
  keepaliveTimeMs?: number;
  /** How long a keepalive PING may go unanswered before the connection is closed and its calls cancelled (default 20 000 ms). */
  keepaliveTimeoutMs?: number;
  /**
   * Keepalive enforcement: a client PING sooner than this after the previous one, without the
   * server having sent headers or messages in between, is a strike (default 300 000 ms).
   */
  keepaliveMinPingIntervalMs?: number;
  /** Strikes tolerated before the connection is closed with GOAWAY(ENHANCE_YOUR_CALM, `too_many_pings`) (default 2). */
  keepaliveMaxPingStrikes?: number;
  /** Whether client PINGs on a connection without calls are allowed at `keepaliveMinPingIntervalMs`; if not, only one every two hours is (default false). */
  keepalivePermitWithoutCalls?: boolean;
  /**
   * Rapid Reset protection: streams the client may reset (RST_STREAM) at once before the
   * connection is closed with GOAWAY(ENHANCE_YOUR_CALM, `too_many_resets`) (default 500).
   * Node itself closes a connection with INTERNAL_ERROR past 1000 resets at once.
   */
  maxResetStreamsBurst?: number;
  /** Resets per second the client may keep up once the burst is spent (default 33, Node's own sustained limit). */
  maxResetStreamsPerSecond?: number;
  /** Time a new connection has for its TLS handshake (if any), and then again for sending its HTTP/2 preface and acknowledging the server's SETTINGS, before it is dropped (default 20 000 ms). */
  handshakeTimeoutMs?: number;
}

/** ConnectionOptions with every default applied. */
export type ConnectionLimits = Required<ConnectionOptions>;

/** The defaults of ConnectionOptions. */
export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = Object.freeze({
  maxConcurrentStreams: 1000,
  maxHeaderListSize: 16 * 1024,
  maxHeaderListPairs: 128,
  maxSessionMemory: 10,
  maxSessionInvalidFrames: 1000,
  maxSessionRejectedStreams: 100,
  maxConnectionIdleMs: 600_000,
  maxConnectionAgeMs: Infinity,
  maxConnectionAgeGraceMs: Infinity,
  keepaliveTimeMs: 7_200_000,
  keepaliveTimeoutMs: 20_000,
  keepaliveMinPingIntervalMs: 300_000,
  keepaliveMaxPingStrikes: 2,
  keepalivePermitWithoutCalls: false,
  maxResetStreamsBurst: 500,
  maxResetStreamsPerSecond: 33,
  handshakeTimeoutMs: 20_000,
});

/** The options with their defaults; an undefined option takes its default. */
export function connectionLimits(options: ConnectionOptions): ConnectionLimits {
  const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS };
  for (const key of Object.keys(limits) as Array<keyof ConnectionLimits>) {
    if (options[key] !== undefined) (limits as Record<string, unknown>)[key] = options[key];
  }
  return limits;
}

/** The node:http2 server options that carry the limits Node enforces itself. */
export function http2Limits(limits: ConnectionLimits): http2.ServerOptions {
  return {
    settings: { maxConcurrentStreams: limits.maxConcurrentStreams, maxHeaderListSize: limits.maxHeaderListSize },
    maxHeaderListPairs: limits.maxHeaderListPairs,
    maxSessionMemory: limits.maxSessionMemory,
    maxSessionInvalidFrames: limits.maxSessionInvalidFrames,
    maxSessionRejectedStreams: limits.maxSessionRejectedStreams,
  };
}

/** Pings without calls are allowed this often when `keepalivePermitWithoutCalls` is false (gRPC's value). */
const PING_INTERVAL_WITHOUT_CALLS_MS = 2 * 60 * 60 * 1000;

const { NGHTTP2_NO_ERROR, NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** Where a connection stands. */
enum ConnectionState {
  /** Taking new calls. */
  Open,
  /** GOAWAY sent (idle, age, shutdown): in-flight calls finish, no new ones. */
  Draining,
  /** Closed or being destroyed. */
  Closed,
}

/** Told when a stream a ServerConnection admitted closes, after the connection has counted it. */
export interface StreamCloseListener {
  streamClosed(): void;
}

const CLOSE_LISTENER = Symbol('closeListener');

type AdmittedStream = http2.ServerHttp2Stream & { [CLOSE_LISTENER]?: StreamCloseListener };

/**
 * Has `listener.streamClosed()` called when `stream`, admitted by a ServerConnection, closes:
 * the connection's one 'close' listener on the stream serves the call too. One listener per
 * stream; a later one replaces it.
 */
export function onAdmittedStreamClose(stream: http2.ServerHttp2Stream, listener: StreamCloseListener): void {
  (stream as AdmittedStream)[CLOSE_LISTENER] = listener;
}

/** A timer that does not keep the process alive, clamped to Node's maximum delay; none for Infinity. */
function timer(ms: number, run: () => void): NodeJS.Timeout | undefined {
  if (!Number.isFinite(ms)) return undefined;
  const handle = setTimeout(run, clampTimerDelay(Math.max(0, ms)));
  handle.unref();
  return handle;
}

/**
 * Guards one server-side HTTP/2 session. `admit` is asked for each new stream before any work
 * is done for it; `noteResponse` is told whenever a call sends headers or messages (it forgives
 * PING strikes, as gRPC does). Every timer is cleared when the session closes.
 */
export class ServerConnection {
  private state = ConnectionState.Open;
  private active = 0;
  /** Armed while the connection may be idle; it checks `idleSince` when it fires rather than being re-armed per call. */
  private idleTimer: NodeJS.Timeout | undefined;
  private idleSince = 0;
  /** The 'close' listener of every admitted stream (`this` is the stream). */
  private readonly streamClosed: (this: http2.ServerHttp2Stream) => void;
  private ageTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private pingTimeout: NodeJS.Timeout | undefined;
  private lastPingAt: number | undefined;
  private pingStrikes = 0;
  private resetTokens: number;
  private resetRefilledAt = Date.now();

  constructor(
    private readonly session: http2.ServerHttp2Session,
    private readonly limits: ConnectionLimits,
    /** Whether the server still serves; resets are not counted while it shuts down. */
    private readonly serving: () => boolean,
  ) {
    this.resetTokens = limits.maxResetStreamsBurst;
    const connection = this;
    this.streamClosed = function (this: http2.ServerHttp2Stream) {
      connection.onStreamClosed(this);
    };
    session.once('close', () => this.onClose());
    this.handshakeTimer = timer(limits.handshakeTimeoutMs, () => session.destroy());
    // The handshake is over when the peer has acknowledged the server's SETTINGS (it has then
    // sent its preface and SETTINGS too): node:http2 enforces the advertised limits only from then on.
    session.once('localSettings', () => {
      clearTimeout(this.handshakeTimer);
      this.scheduleKeepalive();
    });
    session.on('ping', () => this.onPing());
    this.armIdle();
    const age = limits.maxConnectionAgeMs;
    // ±10 % jitter spreads the reconnections of clients that connected together.
    this.ageTimer = timer(age * (0.9 + Math.random() * 0.2), () => this.onMaxAge());
  }

  /** Calls (streams) open on the connection. */
  get activeStreams(): number {
    return this.active;
  }

  /**
   * Counts a new stream, or refuses it alone with RST_STREAM(REFUSED_STREAM) when the
   * connection already has `maxConcurrentStreams` or is draining. Returns whether it may run.
   */
  admit(stream: http2.ServerHttp2Stream): boolean {
    if (this.state !== ConnectionState.Open || this.active >= this.limits.maxConcurrentStreams) {
      // A refused stream was not processed: the client may safely retry it.
      if (!stream.destroyed) stream.close(NGHTTP2_REFUSED_STREAM);
      return false;
    }
    this.active++;
    stream.on('close', this.streamClosed);
    return true;
  }

  private onStreamClosed(stream: AdmittedStream): void {
    this.active--;
    // Aborted: reset before the server had finished its response, whatever the code (an
    // attacker may reset with NO_ERROR). The server's own resets (shutdown) are not counted.
    if (stream.aborted) this.onReset();
    if (this.active === 0) this.armIdle();
    stream[CLOSE_LISTENER]?.streamClosed();
  }

  /** The server sent headers or a message on this connection: PINGs from the client are expected again. */
  noteResponse(): void {
    this.pingStrikes = 0;
    this.lastPingAt = undefined;
  }

  /** The connection has just become idle: it is closed if it stays so for `maxConnectionIdleMs`. */
  private armIdle(): void {
    if (this.state !== ConnectionState.Open || this.active > 0) return;
    this.idleSince = Date.now();
    this.idleTimer ??= timer(this.limits.maxConnectionIdleMs, () => this.onIdleTimer());
  }

  private onIdleTimer(): void {
    this.idleTimer = undefined;
    if (this.active > 0) return;
    const idleFor = Date.now() - this.idleSince;
    if (idleFor >= this.limits.maxConnectionIdleMs) this.goAway('max_idle');
    else this.idleTimer = timer(this.limits.maxConnectionIdleMs - idleFor, () => this.onIdleTimer());
  }

  private onMaxAge(): void {
    this.goAway('max_age');
    this.graceTimer = timer(this.limits.maxConnectionAgeGraceMs, () => this.destroy());
  }

  /** Sends GOAWAY(NO_ERROR) with `debug`, lets in-flight calls finish, then closes. */
  private goAway(debug: string): void {
    if (this.state !== ConnectionState.Open || this.session.closed || this.session.destroyed) return;
    this.state = ConnectionState.Draining;
    this.session.goaway(NGHTTP2_NO_ERROR, 0, Buffer.from(debug));
    this.session.close();
  }

  /** Closes the connection at once with GOAWAY(ENHANCE_YOUR_CALM, `debug`); its calls are cancelled. */
  private calmDown(debug: string): void {
    if (this.state === ConnectionState.Closed || this.session.destroyed) return;
    this.state = ConnectionState.Closed;
    this.session.goaway(NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from(debug));
    this.session.destroy(new Error(`Connection closed: ${debug}`), NGHTTP2_ENHANCE_YOUR_CALM);
  }

  private destroy(): void {
    this.state = ConnectionState.Closed;
    if (!this.session.destroyed) this.session.destroy();
  }

  /** Keepalive enforcement, as gRPC's: too frequent client PINGs are strikes; too many strikes close the connection. */
  private onPing(): void {
    const now = Date.now();
    const allowedEvery =
      this.active === 0 && !this.limits.keepalivePermitWithoutCalls
        ? Math.max(PING_INTERVAL_WITHOUT_CALLS_MS, this.limits.keepaliveMinPingIntervalMs)
        : this.limits.keepaliveMinPingIntervalMs;
    if (this.lastPingAt !== undefined && now - this.lastPingAt < allowedEvery) this.pingStrikes++;
    this.lastPingAt = now;
    if (this.pingStrikes > this.limits.keepaliveMaxPingStrikes) this.calmDown('too_many_pings');
  }

  /** Rapid Reset protection: a token bucket of client resets. */
  private onReset(): void {
    if (!this.serving() || this.state === ConnectionState.Closed || this.session.closed) return;
    const now = Date.now();
    const { maxResetStreamsBurst: burst, maxResetStreamsPerSecond: rate } = this.limits;
    this.resetTokens = Math.min(burst, this.resetTokens + ((now - this.resetRefilledAt) / 1000) * rate);
    this.resetRefilledAt = now;
    this.resetTokens -= 1;
    if (this.resetTokens < 0) this.calmDown('too_many_resets');
  }

  /** The server's keepalive: a PING every `keepaliveTimeMs`; one unanswered for `keepaliveTimeoutMs` closes the connection. */
  private scheduleKeepalive(): void {
    if (this.state === ConnectionState.Closed) return;
    this.keepaliveTimer = timer(this.limits.keepaliveTimeMs, () => {
      if (this.session.destroyed) return;
      this.pingTimeout = timer(this.limits.keepaliveTimeoutMs, () => this.destroy());
      const sent = this.session.ping((error) => {
        clearTimeout(this.pingTimeout);
        if (error === null) this.scheduleKeepalive();
      });
      if (!sent) clearTimeout(this.pingTimeout);
    });
  }

  private onClose(): void {
    this.state = ConnectionState.Closed;
    for (const handle of [this.idleTimer, this.ageTimer, this.graceTimer, this.handshakeTimer, this.keepaliveTimer, this.pingTimeout]) clearTimeout(handle);
  }
}
