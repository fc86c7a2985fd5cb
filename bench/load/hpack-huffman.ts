/**
 * Decoding of HPACK's Huffman-coded strings (RFC 7541 §5.2, Appendix B). The code is canonical:
 * within each code length, codes are consecutive in symbol order, and each length's first code
 * follows the previous length's last. So the code lengths alone define it, and a decoder needs
 * only the count of codes per length and the symbols sorted by (length, symbol).
 */

/** The code length in bits of each symbol 0..255 and of EOS (256), from RFC 7541 Appendix B. */
export const HUFFMAN_CODE_LENGTHS: readonly number[] = [
  // 0-31: control characters
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  // 32-63: ' ' to '?'
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  // 64-95: '@' to '_'
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  // 96-127: '`' to DEL
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  // 128-159
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  // 160-191
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  // 192-223
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  // 224-255
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  // EOS
  30,
];

/** The symbol HPACK reserves for padding; it must never appear decoded. */
const EOS = 256;
const MAX_LENGTH = 30;

/** Number of codes of each length 0..30. */
const COUNTS = new Uint16Array(MAX_LENGTH + 1);
/** Symbols sorted by code length, then by value. */
const SORTED = new Uint16Array(HUFFMAN_CODE_LENGTHS.length);
{
  for (const length of HUFFMAN_CODE_LENGTHS) COUNTS[length]++;
  const next = new Uint16Array(MAX_LENGTH + 1);
  for (let length = 1; length <= MAX_LENGTH; length++) next[length] = next[length - 1] + COUNTS[length - 1];
  HUFFMAN_CODE_LENGTHS.forEach((length, symbol) => {
    SORTED[next[length]++] = symbol;
  });
}

/** A Huffman-coded string HPACK must reject (a connection error, COMPRESSION_ERROR). */
export class HuffmanError extends Error {}

/**
 * Decodes the Huffman-coded bytes `source[start..end)` into a latin1 string (header octets).
 * Throws `HuffmanError` when EOS is decoded, when the padding is longer than 7 bits or not
 * EOS's leading 1-bits, or when the bits end inside a code.
 */
export function huffmanDecode(source: Uint8Array, start: number, end: number): string {
  const out = Buffer.allocUnsafe(Math.ceil(((end - start) * 8) / 5));
  let written = 0;
  // The canonical decoding state of the code being read: its bits so far (`code`, `bits` of
  // them), the first code of length `bits` and the index in SORTED of that code's symbol.
  let code = 0;
  let bits = 0;
  let first = 0;
  let index = 0;
  for (let position = start; position < end; position++) {
    const byte = source[position];
    for (let bit = 7; bit >= 0; bit--) {
      code = (code << 1) | ((byte >>> bit) & 1);
      bits++;
      const count = COUNTS[bits];
      if (code - first < count) {
        const symbol = SORTED[index + code - first];
        if (symbol === EOS) throw new HuffmanError('Huffman-coded string contains EOS');
        out[written++] = symbol;
        code = 0;
        bits = 0;
        first = 0;
        index = 0;
        continue;
      }
      index += count;
      first = (first + count) << 1;
      if (bits === MAX_LENGTH) throw new HuffmanError('invalid Huffman code');
    }
  }
  if (bits > 7) throw new HuffmanError(`Huffman padding of ${bits} bits (at most 7)`);
  if (code !== (1 << bits) - 1) throw new HuffmanError('Huffman padding is not the most significant bits of EOS');
  return out.toString('latin1', 0, written);
}
