/**
 * The `grpc-message` encoding of `doc/PROTOCOL-HTTP2.md`: the UTF-8 bytes of the message,
 * with every byte outside printable ASCII (0x20–0x7E) and `%` itself written as `%XX`, and the
 * spaces at either end too: HTTP/2 forbids a field value starting or ending with whitespace,
 * and a receiver (nghttp2, so Node) drops such a field, losing the whole message.
 */

const PERCENT = 0x25;

function isPlain(byte: number): boolean {
  return byte >= 0x20 && byte <= 0x7e && byte !== PERCENT;
}

/** `%20` for each space at the start and at the end of an encoded message. */
function encodeEdgeSpaces(encoded: string): string {
  return encoded.replace(/^ +| +$/g, (spaces) => '%20'.repeat(spaces.length));
}

/** Percent-encodes a status message for the `grpc-message` trailer. Any string is accepted; lone surrogates become U+FFFD. */
export function encodeStatusMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    if (!isPlain(message.charCodeAt(i))) {
      plain = false;
      break;
    }
  }
  if (plain) return encodeEdgeSpaces(message);
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += isPlain(byte) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encodeEdgeSpaces(out);
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

/**
 * Decodes a `grpc-message` value leniently, as the spec asks of a receiver: a `%` not followed
 * by two hex digits is kept literally, and invalid UTF-8 becomes U+FFFD. Never throws.
 */
export function decodeStatusMessage(encoded: string): string {
  if (!encoded.includes('%')) return encoded;
  const parts: Buffer[] = [];
  let literalStart = 0;
  for (let i = 0; i + 2 < encoded.length; i++) {
    if (encoded.charCodeAt(i) !== PERCENT) continue;
    const high = hexValue(encoded.charCodeAt(i + 1));
    const low = hexValue(encoded.charCodeAt(i + 2));
    if (high < 0 || low < 0) continue;
    parts.push(Buffer.from(encoded.slice(literalStart, i), 'utf8'), Buffer.of(high * 16 + low));
    i += 2;
    literalStart = i + 1;
  }
  parts.push(Buffer.from(encoded.slice(literalStart), 'utf8'));
  return Buffer.concat(parts).toString('utf8');
}
