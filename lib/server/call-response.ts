/**
 * `CallResponse`, the response side of one server call on its HTTP/2 stream: the response headers
 * (with initial metadata), the messages (serialized, compressed, framed) and the status, in
 * trailers or as a trailers-only response.
 */
import http2 from 'node:http2';
import type { Encoding } from '../protocol/compression.js';
import { GrpcError } from '../protocol/grpc-error.js';
import { type CallStatus, type HeaderBlock, responseHeaders, sendableTrailers, trailersOnly } from '../protocol/headers.js';
import type { Metadata } from '../protocol/metadata.js';
import { Status } from '../protocol/status.js';
import { isMarkedUncompressed } from '../transport/message-flags.js';
import { endWithMessage, MessageWriter, serializeMessage } from '../transport/message-writer.js';

/** What a CallResponse needs to know of its call (a part of the server's CallInit). */
export interface ResponseInit {
  stream: http2.ServerHttp2Stream;
  method: { serializeResponse: (value: any) => Uint8Array };
  /** The encodings the client accepts (`grpc-accept-encoding`). */
  acceptedEncodings: ReadonlySet<string>;
  /** Told whenever headers, a message or the status go out. */
  connection: { noteResponse(): void };
}

/** The server-wide settings a CallResponse follows (a part of the server's CallSettings). */
export interface ResponseSettings {
  /** The send limit in bytes after serialization; -1 for none. */
  maxSendMessageSize: number;
  /** Bytes a pushed stream of messages may get ahead of the peer before it fails RESOURCE_EXHAUSTED. */
  maxBufferedResponseBytes: number;
  /** The encoding used when the client accepts it and none was chosen. */
  defaultCompression: Encoding;
}

const { NGHTTP2_NO_ERROR } = http2.constants;

/** Response headers go with a trailer block to follow; no `date` header (gRPC has no use for it). */
const RESPOND_OPTIONS: http2.ServerStreamResponseOptions = Object.freeze({ waitForTrailers: true, sendDate: false });
const TRAILERS_ONLY_OPTIONS: http2.ServerStreamResponseOptions = Object.freeze({ endStream: true, sendDate: false });

/** Once the response is complete, a client still sending is asked to stop, without error (RFC 9113 8.1). */
function stopPeer(stream: http2.ServerHttp2Stream): void {
  if (!stream.readableEnded && !stream.destroyed) stream.close(NGHTTP2_NO_ERROR);
}

/**
 * Writes one call's response. The encoding is the client's choice among what it accepts (identity
 * when it accepts nothing better) and is fixed once the headers are sent; the message writer is
 * made with the first streamed message. It does not know whether the call is over: its owner stops
 * using it once it has called `end`.
 */
export class CallResponse {
  private sentHeaders = false;
  private encoding: Encoding;
  private compressMessages = true;
  private writer: MessageWriter<unknown> | undefined;
  /** The trailers to send once node:http2 asks for them. */
  private pendingTrailers: Readonly<HeaderBlock> | undefined;

  constructor(
    private readonly init: ResponseInit,
    private readonly settings: ResponseSettings,
  ) {
    this.encoding = this.acceptable(settings.defaultCompression);
  }

  /** Whether the response headers went out. */
  get headersSent(): boolean {
    return this.sentHeaders;
  }

  /** Bytes accepted but not yet handed to the socket. */
  get bufferedBytes(): number {
    return this.writer?.bufferedBytes ?? 0;
  }

  /** Whether the writer asks to wait for `drained()` before more messages. */
  get needsDrain(): boolean {
    return this.writer?.needsDrain ?? false;
  }

  /** Whether messages are still being compressed: `flushed()` must then be awaited before `end`. */
  get hasPending(): boolean {
    return this.writer?.hasPending ?? false;
  }

  /** Compresses the messages with `encoding` if the client accepts it, otherwise with none. Effective until the headers are sent. */
  setEncoding(encoding: Encoding): void {
    this.encoding = this.acceptable(encoding);
  }

  /** Turns compression of the following messages off or back on. */
  setMessageCompression(enabled: boolean): void {
    this.compressMessages = enabled;
  }

  /** Sends the response headers with `metadata`, unless they were sent or the stream is gone. */
  sendHeaders(metadata: Metadata | undefined): void {
    if (this.sentHeaders || this.init.stream.destroyed || this.init.stream.closed) return;
    this.sentHeaders = true;
    this.init.connection.noteResponse();
    this.init.stream.respond(responseHeaders(this.encoding, metadata), RESPOND_OPTIONS);
  }

  /** Writes one message of a stream (headers first); throws a GrpcError for a message that does not serialize or is too large. */
  write(value: unknown): void {
    this.sendHeaders(undefined);
    this.writer ??= new MessageWriter(this.init.stream, {
      serialize: this.init.method.serializeResponse,
      encoding: this.encoding,
      maxMessageSize: this.settings.maxSendMessageSize,
      kind: 'response',
    });
    this.writer.write(value, this.compressMessages);
    this.init.connection.noteResponse();
  }

  /**
   * Sends the headers for the one message of a unary response and returns it serialized, to go
   * out with the status (`end`), when it is sent uncompressed; a message to compress is written
   * through the writer instead, and undefined returned. Throws as `write` does.
   */
  writeSingle(value: unknown): Uint8Array | undefined {
    if (this.encoding !== 'identity' && this.compressMessages && !isMarkedUncompressed(value)) {
      this.write(value);
      return undefined;
    }
    const bytes = serializeMessage(value, this.init.method.serializeResponse, this.settings.maxSendMessageSize, 'response');
    this.sendHeaders(undefined);
    return bytes;
  }

  /** Throws RESOURCE_EXHAUSTED when more than `maxBufferedResponseBytes` wait for the peer. */
  checkBuffer(): void {
    const limit = this.settings.maxBufferedResponseBytes;
    if (this.bufferedBytes > limit) {
      throw new GrpcError(Status.RESOURCE_EXHAUSTED, `Response buffer limit exceeded: the handler produced more than ${limit} bytes the client has not yet read`);
    }
  }

  /** Resolves when the stream can take more messages, or closes. */
  async drained(): Promise<void> {
    await this.writer?.drained();
  }

  /** Resolves once every message was handed to the stream; rejects if compression failed. */
  async flushed(): Promise<void> {
    await this.writer?.flushed();
  }

  /**
   * The header block that carries `status` now: trailers after sent headers, a trailers-only
   * response otherwise. Throws when the status cannot be encoded (metadata of the wrong kind from
   * untyped code), so the caller can still answer otherwise.
   */
  statusBlock(status: CallStatus): Readonly<HeaderBlock> {
    return this.sentHeaders ? sendableTrailers(status) : trailersOnly(status);
  }

  /**
   * Ends the response with a block from `statusBlock` (after `lastMessage`, a serialized message
   * from `writeSingle`, if given), and asks a client still sending to stop. Nothing happens on a
   * stream already closed.
   */
  end(block: Readonly<HeaderBlock>, lastMessage?: Uint8Array): void {
    const stream = this.init.stream;
    if (stream.destroyed || stream.closed) return;
    this.init.connection.noteResponse();
    if (!this.sentHeaders) {
      stream.respond(block, TRAILERS_ONLY_OPTIONS);
      stopPeer(stream);
      return;
    }
    this.pendingTrailers = block;
    stream.on('wantTrailers', () => this.sendTrailers());
    if (lastMessage === undefined) stream.end();
    else endWithMessage(stream, lastMessage);
  }

  private sendTrailers(): void {
    const stream = this.init.stream;
    if (this.pendingTrailers === undefined || stream.destroyed || stream.closed) return;
    stream.sendTrailers(this.pendingTrailers);
    this.pendingTrailers = undefined;
    // Node submits trailers from a setImmediate; an RST_STREAM sent before that would drop them.
    if (!stream.readableEnded) setImmediate(stopPeer, stream);
  }

  private acceptable(encoding: Encoding): Encoding {
    return this.init.acceptedEncodings.has(encoding) ? encoding : 'identity';
  }
}
