import fc from 'fast-check';
import { decodeStatusMessage, encodeStatusMessage } from '../../lib/protocol/status-message.js';
import { anyString, wellFormedString } from '../fixtures/arbitraries.js';

const SPEC_EXAMPLE = '\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n';

describe('grpc-message encoding', () => {
  it('round-trips the spec example with whitespace, BMP and non-BMP characters', () => {
    const encoded = encodeStatusMessage(SPEC_EXAMPLE);
    expect(encoded).toBe('%09%0Atest with whitespace%0D%0Aand Unicode BMP %E2%98%BA and non-BMP %F0%9F%98%88%09%0A');
    expect(decodeStatusMessage(encoded)).toBe(SPEC_EXAMPLE);
  });

  it.each([
    ['', ''],
    ['plain ASCII message', 'plain ASCII message'],
    ['100%', '100%25'],
    ['%41', '%2541'],
    ['~ and space', '~ and space'],
    ['  spaces at both ends ', '%20%20spaces at both ends%20'],
    [' ', '%20'],
    ['\u007f', '%7F'],
    ['\u0000', '%00'],
    ['é', '%C3%A9'],
  ])('encodes %j as %j', (message, encoded) => {
    expect(encodeStatusMessage(message)).toBe(encoded);
    expect(decodeStatusMessage(encoded)).toBe(message);
  });

  it('round-trips any well-formed string', () => {
    fc.assert(
      fc.property(fc.oneof(wellFormedString({ maxLength: 60 }), fc.string({ maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 20 })), (message) => {
        expect(decodeStatusMessage(encodeStatusMessage(message))).toBe(message);
      }),
    );
  });

  it('round-trips any string, lone surrogates becoming U+FFFD as UTF-8 demands', () => {
    fc.assert(
      fc.property(anyString({ maxLength: 60 }), (message) => {
        expect(decodeStatusMessage(encodeStatusMessage(message))).toBe(Buffer.from(message, 'utf8').toString('utf8'));
      }),
    );
  });

  it('encodes to printable ASCII only, with % only as the start of an escape', () => {
    fc.assert(
      fc.property(anyString({ maxLength: 60 }), (message) => {
        const encoded = encodeStatusMessage(message);
        expect(encoded).toMatch(/^[\x20-\x7e]*$/);
        expect(encoded.replace(/%[0-9A-F]{2}/g, '')).not.toContain('%');
      }),
    );
  });

  it('leaves printable ASCII without % and without spaces at either end unchanged', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^([\x21-\x24\x26-\x7e]([\x20-\x24\x26-\x7e]*[\x21-\x24\x26-\x7e])?)?$/), (message) => {
        expect(encodeStatusMessage(message)).toBe(message);
        expect(decodeStatusMessage(message)).toBe(message);
      }),
    );
  });
});

describe('grpc-message decoding', () => {
  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(
        fc.oneof(anyString({ maxLength: 60 }), fc.string({ unit: fc.constantFrom('%', '0', 'F', 'f', 'g', 'C', '3', 'A', '9', 'x', '\u00e9'), maxLength: 30 })),
        (encoded) => {
          expect(typeof decodeStatusMessage(encoded)).toBe('string');
        },
      ),
    );
  });

  it('keeps bad escapes literally', () => {
    expect(decodeStatusMessage('%')).toBe('%');
    expect(decodeStatusMessage('%4')).toBe('%4');
    expect(decodeStatusMessage('100%')).toBe('100%');
    expect(decodeStatusMessage('%zz and %4g')).toBe('%zz and %4g');
    expect(decodeStatusMessage('%%41')).toBe('%A');
    expect(decodeStatusMessage('a%2')).toBe('a%2');
  });

  it('accepts lower-case hex digits', () => {
    expect(decodeStatusMessage('%e2%98%ba')).toBe('☺');
    expect(decodeStatusMessage('%c3%A9')).toBe('é');
  });

  it('turns invalid UTF-8 into U+FFFD', () => {
    expect(decodeStatusMessage('%FF')).toBe('\ufffd');
    expect(decodeStatusMessage('a%C3b')).toBe('a\ufffdb');
    expect(decodeStatusMessage('%E2%98')).toBe('\ufffd');
  });

  it('passes through characters a lenient peer sent unencoded', () => {
    expect(decodeStatusMessage('caf\u00e9 %41')).toBe('caf\u00e9 A');
    expect(decodeStatusMessage('\t raw')).toBe('\t raw');
    expect(decodeStatusMessage('😈 %F0%9F%98%88')).toBe('😈 😈');
  });
});
