/**
 * The one request of a unary-request call, serialized once and sent to each attempt.
 */
import type http2 from 'node:http2';
import type { Encoding } from '../protocol/compression.js';
import type { GrpcError } from '../protocol/grpc-error.js';
import { isMarkedUncompressed } from '../transport/message-flags.js';
import { endWithMessage, serializeMessage } from '../transport/message-writer.js';
import { endWhenFlushed, type RequestOptions, type RequestSender, requestWriter } from './request-replay.js';

const NOTHING = new Uint8Array(0);

/**
 * A unary request: serialized at construction (a request that does not serialize or exceeds the
 * send limit goes to `fail` at once, and is never sent), then written whole to every attempt,
 * which it half-closes. Its bytes are kept for retries, reserved from the per-call limit and the
 * client's pool until the call commits or ends; when they do not fit the call overflows
 * (commits), yet the request stays replayable for transparent retries.
 */
export class UnaryRequest<Req> implements RequestSender {
  readonly replayable = true;
  private bytes: Uint8Array = NOTHING;
  private readonly compressed: boolean;
  private pooledBytes = 0;

  constructor(
    value: Req,
    private readonly options: RequestOptions<Req>,
  ) {
    this.compressed = !isMarkedUncompressed(value);
    try {
      this.bytes = serializeMessage(value, options.serialize, options.maxMessageSize, 'request');
    } catch (error) {
      options.fail(error as GrpcError);
      return;
    }
    const size = this.bytes.length;
    if (size <= options.perCallLimit && options.pool.reserve(size)) this.pooledBytes = size;
    else options.overflow();
  }

  /** Writes the request to the attempt's stream and half-closes it (after compression, if it is compressed). */
  attach(stream: http2.ClientHttp2Stream, encoding: Encoding): void {
    if (encoding === 'identity' || !this.compressed) {
      endWithMessage(stream, this.bytes);
      return;
    }
    const writer = requestWriter(stream, encoding);
    writer.write(this.bytes);
    endWhenFlushed(stream, writer, this.options.fail);
  }

  /** Nothing to do: the request was written whole. */
  detach(): void {}

  /** The request is no longer kept for retry policies: its bytes go back to the pool (transparent retries still send it). */
  commit(): void {
    this.release();
  }

  /** Gives the reserved bytes back to the pool. */
  release(): void {
    this.options.pool.release(this.pooledBytes);
    this.pooledBytes = 0;
  }
}
