/**
 * `cancelStream`: resetting an HTTP/2 stream with RST_STREAM(CANCEL) alone.
 */
import type http2 from 'node:http2';
import { addAbortSignal, PassThrough } from 'node:stream';

/**
 * Node's AbortError, which it does not export: `Http2Stream.destroy(error)` resets with
 * RST_STREAM(CANCEL) only for an instance of it (INTERNAL_ERROR for any other error). Made
 * once, by aborting a throwaway stream.
 */
const abortError: Error = (() => {
  const probe = new PassThrough();
  probe.on('error', () => undefined);
  addAbortSignal(AbortSignal.abort(), probe);
  return probe.errored as Error;
})();

/**
 * Cancels a stream: RST_STREAM(CANCEL), and nothing before it. `stream.close(CANCEL)` would first
 * end the writable side, sending END_STREAM, so that for a moment the peer sees a cancelled request
 * stream as a complete one (and may act on it). The stream is destroyed at once ('close' follows,
 * unread data is dropped); a stream not yet opened is dropped without a frame. No effect on a
 * destroyed stream.
 */
export function cancelStream(stream: http2.Http2Stream): void {
  if (!stream.destroyed) stream.destroy(abortError);
}
