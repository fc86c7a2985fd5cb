/**
 * Turns the DATA of one HTTP/2 stream into decoded messages, in order: deframe, decompress
 * (bounded), deserialize. Any failure becomes one GrpcError and the reader stops.
 */
import { decompress, type Encoding } from '../protocol/compression.js';
import { Deframer } from '../protocol/envelope.js';
import { GrpcError } from '../protocol/grpc-error.js';
import { Status } from '../protocol/status.js';
import { markReceivedCompressed } from './message-flags.js';

/** What a MessageReader reports to. */
export interface MessageSink<T> {
  message(value: T): void;
  end(): void;
  error(error: GrpcError): void;
}

/** What a reader needs to know of its stream. */
export interface ReaderOptions<T> {
  /** The stream's `grpc-encoding`. */
  encoding: Encoding;
  /** The receive limit in bytes, before and after decompression; -1 for none. */
  maxMessageSize: number;
  deserialize: (bytes: Buffer) => T;
  /** Names the message in errors: `request` or `response`. */
  kind: 'request' | 'response';
}

/**
 * Incremental decoder for one direction of a call. Uncompressed messages are delivered
 * synchronously; once a compressed one is in flight, later ones wait behind it so order holds.
 */
export class MessageReader<T> {
  private readonly deframer: Deframer;
  private pending: Promise<void> | undefined;
  private failed = false;
  /** Set while a message is handed on: an exception then is the sink's, not a framing error. */
  private delivering = false;

  constructor(
    private readonly options: ReaderOptions<T>,
    private readonly sink: MessageSink<T>,
  ) {
    this.deframer = new Deframer(options.maxMessageSize);
  }

  /** Feeds received bytes. */
  push(chunk: Buffer): void {
    if (this.failed) return;
    try {
      this.deframer.read(chunk, this.accept);
    } catch (error) {
      if (!this.delivering) return this.fail(error as GrpcError);
      this.delivering = false;
      throw error;
    }
  }

  /** Marks the end of the stream's data; reports `end` once every message was delivered. */
  end(): void {
    if (this.failed) return;
    try {
      this.deframer.end();
    } catch (error) {
      this.fail(error as GrpcError);
      return;
    }
    this.enqueue(() => this.sink.end());
  }

  private readonly accept = (payload: Buffer, compressed: boolean): void => {
    this.delivering = true;
    this.acceptMessage(payload, compressed);
    this.delivering = false;
  };

  private acceptMessage(payload: Buffer, compressed: boolean): void {
    if (!compressed) {
      if (this.pending === undefined) this.decode(payload, false);
      else this.enqueue(() => this.decode(payload, false));
      return;
    }
    const inflated = decompress(this.options.encoding, payload, this.options.maxMessageSize);
    inflated.catch(() => undefined);
    this.pending = (this.pending ?? Promise.resolve()).then(async () => {
      if (this.failed) return;
      let bytes: Buffer;
      try {
        bytes = await inflated;
      } catch (error) {
        this.fail(error as GrpcError);
        return;
      }
      this.decode(bytes, true);
    });
  }

  private enqueue(step: () => void): void {
    if (this.pending === undefined) step();
    else this.pending = this.pending.then(() => (this.failed ? undefined : step()));
  }

  private decode(bytes: Buffer, compressed: boolean): void {
    if (this.failed) return;
    let value: T;
    try {
      value = this.options.deserialize(bytes);
    } catch {
      this.fail(new GrpcError(Status.INTERNAL, `Failed to parse the ${this.options.kind} message`));
      return;
    }
    if (compressed) markReceivedCompressed(value);
    this.sink.message(value);
  }

  private fail(error: GrpcError): void {
    if (this.failed) return;
    this.failed = true;
    this.sink.error(error);
  }
}
