/**
 * The Matrix client on our GrpcClient's call-object form (`client.call.<rpc>`: headers,
 * trailers, status, cancel), in one of two styles its users may write: `observable` sends
 * request streams as Observables, subscribes to responses and cancels with `cancel()`;
 * `iterable` sends async generators, reads responses with `for await` (breaking out cancels)
 * and cancels with an AbortSignal.
 */
import { Observable } from 'rxjs';
import type { CallOptions as OurCallOptions, CallStatus, GrpcClient } from '../../../lib/index.js';
import {
  type BidiTarget,
  type CallOptions,
  type CallResult,
  type ClientAdapter,
  normalDetails,
  normalMetadata,
  normalReply,
  type UnaryTarget,
} from '../adapters.js';
import type { matrixStub, Request, unservedStub } from '../matrix-service.js';

/** How the adapter drives calls. */
export type ClientStyle = 'observable' | 'iterable';

/** A call object of either shape, as the adapter uses it. */
interface Handle {
  readonly headers: Promise<Iterable<[string, string | Buffer]>>;
  readonly status: Promise<CallStatus>;
  readonly response?: Promise<unknown>;
  readonly responses?: Observable<unknown> & AsyncIterable<unknown>;
  cancel(): void;
}

function resultOf(status: CallStatus, headers: Iterable<[string, string | Buffer]>, messages: unknown[]): CallResult {
  return {
    messages: messages.map(normalReply),
    code: status.code,
    message: status.message,
    details: normalDetails(status.details),
    headers: normalMetadata(headers),
    trailers: normalMetadata(status.metadata),
  };
}

/** A ClientAdapter over our GrpcClients of Matrix and Unserved, in one {@link ClientStyle}; `onClose` closes them. */
export class OurClientAdapter implements ClientAdapter {
  constructor(
    private readonly matrix: GrpcClient<typeof matrixStub>,
    private readonly unserved: GrpcClient<typeof unservedStub>,
    private readonly style: ClientStyle,
    private readonly onClose: () => Promise<void>,
  ) {}

  private options(options: CallOptions, abort: AbortController): OurCallOptions {
    return {
      metadata: options.metadata,
      timeout: options.timeoutMs,
      compression: options.compression,
      signal: this.style === 'iterable' ? abort.signal : undefined,
    };
  }

  /** The request stream of a call, ending after the requests or when the call ends. */
  private requests(requests: Request[], options: CallOptions, ended: Promise<unknown>): Observable<Request> | AsyncIterable<Request> {
    const halfClose = options.halfClose ?? true;
    if (this.style === 'observable') {
      return new Observable<Request>((subscriber) => {
        for (const request of requests) subscriber.next(request);
        if (halfClose) subscriber.complete();
      });
    }
    return (async function* () {
      yield* requests;
      if (!halfClose) await ended;
    })();
  }

  /** Runs a started call to its end, collecting what the CallResult needs. */
  private async settle(start: (options: OurCallOptions, ended: Promise<unknown>) => Handle, options: CallOptions): Promise<CallResult> {
    const abort = new AbortController();
    let markEnded!: () => void;
    const ended = new Promise<void>((resolve) => (markEnded = resolve));
    const handle = start(this.options(options, abort), ended);
    void handle.status.then(markEnded);
    const cancel = () => (this.style === 'iterable' ? abort.abort() : handle.cancel());
    if (options.cancelAfter === 'headers') void handle.headers.then(cancel);
    const cancelAt = typeof options.cancelAfter === 'object' ? options.cancelAfter.messages : Infinity;
    const messages: unknown[] = [];
    if (handle.responses === undefined) {
      const response = await handle.response!.catch(() => undefined);
      if (response !== undefined) messages.push(response);
    } else if (this.style === 'observable') {
      await new Promise<void>((resolve) =>
        handle.responses!.subscribe({
          next: (message) => {
            messages.push(message);
            if (messages.length === cancelAt) handle.cancel();
          },
          error: () => resolve(),
          complete: () => resolve(),
        }),
      );
    } else {
      try {
        for await (const message of handle.responses) {
          messages.push(message);
          if (messages.length === cancelAt) break;
        }
      } catch {
        // The status says why.
      }
    }
    const status = await handle.status;
    return resultOf(status, await handle.headers, messages);
  }

  unary(request: Request, options: CallOptions = {}, target: UnaryTarget = 'Unary'): Promise<CallResult> {
    return this.settle((callOptions) => {
      if (target === 'Unserved.Unary') return this.unserved.call.Unary(request, callOptions);
      return this.matrix.call[target](request, callOptions);
    }, options);
  }

  serverStream(request: Request, options: CallOptions = {}): Promise<CallResult> {
    return this.settle((callOptions) => this.matrix.call.ServerStream(request, callOptions), options);
  }

  clientStream(requests: Request[], options: CallOptions = {}): Promise<CallResult> {
    return this.settle((callOptions, ended) => this.matrix.call.ClientStream(this.requests(requests, options, ended), callOptions), options);
  }

  bidi(requests: Request[], options: CallOptions = {}, target: BidiTarget = 'Bidi'): Promise<CallResult> {
    return this.settle((callOptions, ended) => this.matrix.call[target](this.requests(requests, options, ended), callOptions), options);
  }

  close(): Promise<void> {
    return this.onClose();
  }
}
