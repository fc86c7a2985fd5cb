/**
 * The part of the Matrix behaviour that our GrpcServer and our Nest controller both do through
 * a GrpcContext: reporting cancellation, choosing compression, sending initial metadata, and
 * building replies, trailers and failures.
 */
import type { Encoding, GrpcContext, GrpcError } from '../../../lib/index.js';
import {
  type Entries,
  failureOf,
  grpcErrorOf,
  initialEntries,
  type Reply,
  replyFor,
  type Request,
  type ServerHooks,
  toMetadata,
  trailingEntries,
  userEntries,
} from '../matrix-service.js';

/** Resolves once the call's signal aborts (cancelled by the client, its deadline or shutdown). */
export function untilCancelled(context: GrpcContext): Promise<void> {
  return new Promise((resolve) => {
    if (context.signal.aborted) resolve();
    else context.signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** A call of ours, once the request that steers it arrived: its headers, compression and cancellation report are dealt with. */
export class Steered {
  readonly seen: Entries;

  constructor(
    readonly context: GrpcContext,
    readonly request: Request,
    private readonly hooks: ServerHooks,
  ) {
    this.seen = userEntries(context.metadata);
    const tag = request.tag;
    if (tag) void untilCancelled(context).then(() => hooks.cancelled(tag));
    if (request.response_compression) context.setCompression(request.response_compression as Encoding);
    const initial = initialEntries(request, this.seen);
    if (initial !== undefined) context.sendInitialMetadata(toMetadata(initial));
  }

  /** Reports the end of the request stream, unless the call was cancelled. */
  requestsEnded(): void {
    if (this.request.tag && !this.context.signal.aborted) this.hooks.requestsEnded(this.request.tag);
  }

  /** Reply number `index`, reporting what the handler saw on the first. */
  reply(index: number, extra: { payload?: Buffer; received?: number; request?: Request } = {}): Reply {
    const remainingMs = Number.isFinite(this.context.timeRemaining) ? this.context.timeRemaining : undefined;
    return replyFor(extra.request ?? this.request, index, { ...extra, seen: this.seen, remainingMs });
  }

  /** Sets the trailing metadata of a call that ends normally. */
  setTrailers(): void {
    this.context.setTrailingMetadata(toMetadata(trailingEntries(this.request, this.seen, false)));
  }

  /** The GrpcError the failure `request` (by default the steering one) asks for, with the call's trailers; undefined when it asks for none. */
  failure(request = this.request): GrpcError | undefined {
    const failure = failureOf(request);
    return failure === undefined ? undefined : grpcErrorOf(failure, trailingEntries(this.request, this.seen, true));
  }
}
