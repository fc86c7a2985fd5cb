/**
 * Per-message compression as user code sees it: whether a received message arrived with its
 * compressed flag set, and which messages to send uncompressed on a compressed call. Both are
 * keyed on the message object itself, in WeakSets, so nothing is retained.
 */

const receivedCompressed = new WeakSet<object>();
const sendUncompressed = new WeakSet<object>();

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

/** Records that a decoded message arrived compressed (called by the message reader). */
export function markReceivedCompressed(message: unknown): void {
  if (isObject(message)) receivedCompressed.add(message);
}

/**
 * Whether `message`, a request a handler received or a response a client received, arrived
 * compressed: its compressed-flag byte was set (the call's `grpc-encoding` alone does not say,
 * since a peer may send single messages uncompressed). False for any object this library did
 * not decode itself, including a copy or a pipe-transformed version of a received message.
 */
export function wasCompressed(message: unknown): boolean {
  return isObject(message) && receivedCompressed.has(message);
}

/**
 * Marks a message object to be sent uncompressed even on a call that compresses (a request on a
 * client call with `compression`, or a response on a server call with compression chosen), as
 * gRPC's per-message compression allows. Returns the same object. The mark stays with the
 * object: it is sent uncompressed every time it is sent. Primitives cannot be marked.
 */
export function withoutCompression<T>(message: T): T {
  if (isObject(message)) sendUncompressed.add(message);
  return message;
}

/** Whether a message was marked with {@link withoutCompression} (read by the message writer). */
export function isMarkedUncompressed(message: unknown): boolean {
  return isObject(message) && sendUncompressed.has(message);
}
