/**
 * What a client call hands its caller: the response headers, the final status, and the one
 * response or the response stream.
 */
import type { CallStatus } from '../protocol/headers.js';
import { GrpcError } from '../protocol/grpc-error.js';
import { Metadata } from '../protocol/metadata.js';
import { Status } from '../protocol/status.js';
import { type FlowControl, MessageSource } from '../transport/message-source.js';

/** The error a failed status stands for. */
function errorOf(status: CallStatus): GrpcError {
  return new GrpcError(status.code, status.message, status.details, status.metadata);
}

/**
 * The results of one call as its caller sees them. Each promise is made when first asked for
 * (a unary call awaited through `response` makes just that one), settled from what the call
 * recorded so far: `status` always resolves; `headers` resolves with the initial metadata, or
 * empty metadata when the call ends without response headers; `response` resolves with the one
 * message of an OK call and rejects with a GrpcError for any other status. `responses` exists
 * for response-streaming calls only.
 */
export class CallResults<Res> {
  /** The response messages of a response-streaming call; its flow control steers the call. */
  readonly responses: MessageSource<Res> | undefined;
  private rawHeaders: string[] | undefined;
  private single: Res | undefined;
  private final: CallStatus | undefined;
  private headersPromise: Promise<Metadata> | undefined;
  private resolveHeaders: ((metadata: Metadata) => void) | undefined;
  private statusPromise: Promise<CallStatus> | undefined;
  private resolveStatus: ((status: CallStatus) => void) | undefined;
  private responsePromise: Promise<Res> | undefined;
  private resolveResponse: ((value: Res) => void) | undefined;
  private rejectResponse: ((error: GrpcError) => void) | undefined;

  /** `flow` is given for a response-streaming call, which gets `responses`. */
  constructor(flow: FlowControl | undefined) {
    this.responses = flow === undefined ? undefined : new MessageSource<Res>(flow);
  }

  /** Initial metadata; empty when the call ended without response headers. */
  get headers(): Promise<Metadata> {
    if (this.headersPromise === undefined) {
      if (this.rawHeaders !== undefined) this.headersPromise = Promise.resolve(Metadata.fromRawHeaders(this.rawHeaders));
      else if (this.final !== undefined) this.headersPromise = Promise.resolve(new Metadata());
      else this.headersPromise = new Promise((resolve) => (this.resolveHeaders = resolve));
    }
    return this.headersPromise;
  }

  /** The final status; never rejects. */
  get status(): Promise<CallStatus> {
    if (this.statusPromise === undefined) {
      if (this.final !== undefined) this.statusPromise = Promise.resolve(this.final);
      else this.statusPromise = new Promise((resolve) => (this.resolveStatus = resolve));
    }
    return this.statusPromise;
  }

  /** The one response of an OK call; a GrpcError for any other status. */
  get response(): Promise<Res> {
    if (this.responsePromise === undefined) {
      const final = this.final;
      if (final === undefined) {
        this.responsePromise = new Promise((resolve, reject) => {
          this.resolveResponse = resolve;
          this.rejectResponse = reject;
        });
      } else if (final.code === Status.OK) this.responsePromise = Promise.resolve(this.single as Res);
      else this.responsePromise = Promise.reject(errorOf(final));
    }
    return this.responsePromise;
  }

  /** The response headers arrived (Node's raw header list). */
  receivedHeaders(rawHeaders: string[]): void {
    this.rawHeaders = rawHeaders;
    const resolve = this.resolveHeaders;
    this.resolveHeaders = undefined;
    resolve?.(Metadata.fromRawHeaders(rawHeaders));
  }

  /** A response message arrived. */
  message(value: Res): void {
    if (this.responses === undefined) this.single = value;
    else this.responses.push(value);
  }

  /** The call ended with `status`. */
  settle(status: CallStatus): void {
    this.final = status;
    this.resolveHeaders?.(new Metadata());
    this.resolveStatus?.(status);
    if (status.code === Status.OK) {
      this.resolveResponse?.(this.single as Res);
      this.responses?.end();
      return;
    }
    if (this.rejectResponse === undefined && this.responses === undefined) return;
    const error = errorOf(status);
    this.rejectResponse?.(error);
    this.responses?.fail(error);
  }
}
