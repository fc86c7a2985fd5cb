import { once } from 'node:events';
import zlib from 'node:zlib';
import fc from 'fast-check';
import {
  ACCEPT_ENCODING_HEADER,
  compress,
  decompress,
  type Encoding,
  isSupportedEncoding,
  parseAcceptEncoding,
  parseEncodingHeader,
  SUPPORTED_ENCODINGS,
} from '../../lib/protocol/compression.js';
import { GrpcError } from '../../lib/protocol/grpc-error.js';
import { Status } from '../../lib/protocol/status.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

async function rejection(promise: Promise<unknown>): Promise<GrpcError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GrpcError);
    return error as GrpcError;
  }
  throw new Error('expected the promise to reject');
}

/**
 * A compression bomb: `size` bytes of zeros compressed by streaming one reused 1 MiB chunk of
 * zeros through zlib (never holding the inflated size). Run-length strategy keeps it fast and
 * reaches deflate's ~1030:1 ceiling, so 1 GiB compresses to about 1 MiB.
 */
async function zerosBomb(encoding: 'gzip' | 'deflate', size: number): Promise<Buffer> {
  const options = { level: 9, strategy: zlib.constants.Z_RLE };
  const stream = encoding === 'gzip' ? zlib.createGzip(options) : zlib.createDeflate(options);
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = once(stream, 'end');
  const zeros = Buffer.alloc(MiB);
  for (let written = 0; written < size; written += zeros.length) {
    if (!stream.write(zeros)) await once(stream, 'drain');
  }
  stream.end();
  await ended;
  return Buffer.concat(out);
}

describe('parseEncodingHeader', () => {
  it('treats an absent or empty grpc-encoding as identity', () => {
    expect(parseEncodingHeader(undefined)).toBe('identity');
    expect(parseEncodingHeader('')).toBe('identity');
  });

  it('accepts the supported encodings, ignoring case and surrounding whitespace', () => {
    expect(parseEncodingHeader('identity')).toBe('identity');
    expect(parseEncodingHeader('gzip')).toBe('gzip');
    expect(parseEncodingHeader('deflate')).toBe('deflate');
    expect(parseEncodingHeader(' GZip ')).toBe('gzip');
  });

  it('refuses an unknown encoding with UNIMPLEMENTED naming it and listing the supported ones', () => {
    let error: unknown;
    try {
      parseEncodingHeader('snappy');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GrpcError);
    expect((error as GrpcError).code).toBe(Status.UNIMPLEMENTED);
    expect((error as GrpcError).message).toContain('snappy');
    for (const encoding of ['identity', 'deflate', 'gzip']) expect((error as GrpcError).message).toContain(encoding);
    expect(() => parseEncodingHeader('gzip,deflate')).toThrow(expect.objectContaining({ code: Status.UNIMPLEMENTED }));
    expect(() => parseEncodingHeader('br')).toThrow(expect.objectContaining({ code: Status.UNIMPLEMENTED }));
  });
});

describe('grpc-accept-encoding', () => {
  it('advertises identity, deflate and gzip', () => {
    expect([...SUPPORTED_ENCODINGS]).toEqual(['identity', 'deflate', 'gzip']);
    expect(ACCEPT_ENCODING_HEADER).toBe('identity,deflate,gzip');
    expect(parseAcceptEncoding(ACCEPT_ENCODING_HEADER)).toEqual(new Set(['identity', 'deflate', 'gzip']));
  });

  it('parses a list ignoring whitespace, case and empty entries, and always includes identity', () => {
    expect(parseAcceptEncoding(undefined)).toEqual(new Set(['identity']));
    expect(parseAcceptEncoding('')).toEqual(new Set(['identity']));
    expect(parseAcceptEncoding(' GZIP , ,snappy,')).toEqual(new Set(['identity', 'gzip', 'snappy']));
  });

  it('knows which names it supports', () => {
    expect(isSupportedEncoding('gzip')).toBe(true);
    expect(isSupportedEncoding('deflate')).toBe(true);
    expect(isSupportedEncoding('identity')).toBe(true);
    expect(isSupportedEncoding('GZIP')).toBe(false);
    expect(isSupportedEncoding('snappy')).toBe(false);
  });
});

describe('compress and decompress', () => {
  it('leaves identity data untouched', async () => {
    const data = Uint8Array.of(1, 2, 3);
    expect(await compress('identity', data)).toBe(data);
  });

  it('round-trips any message through gzip and deflate', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<Encoding>('gzip', 'deflate'), fc.uint8Array({ maxLength: 2000 }), async (encoding, data) => {
        const compressed = Buffer.from(await compress(encoding, data));
        expect(new Uint8Array(await decompress(encoding, compressed, data.length))).toEqual(data);
        expect(new Uint8Array(await decompress(encoding, compressed, -1))).toEqual(data);
      }),
      { numRuns: 50 },
    );
  });

  it('writes the formats other implementations read: gzip (RFC 1952) and zlib-wrapped deflate (RFC 1950)', async () => {
    const data = Buffer.from('hello, hello, hello, hello');
    expect(zlib.gunzipSync(Buffer.from(await compress('gzip', data)))).toEqual(data);
    expect(zlib.inflateSync(Buffer.from(await compress('deflate', data)))).toEqual(data);
    expect(await decompress('gzip', zlib.gzipSync(data), 100)).toEqual(data);
    expect(await decompress('deflate', zlib.deflateSync(data), 100)).toEqual(data);
  });

  it.each(['gzip', 'deflate'] as const)('%s: accepts output of exactly the limit and refuses one byte more', async (encoding) => {
    const data = Buffer.alloc(1000, 7);
    const compressed = Buffer.from(await compress(encoding, data));
    expect(await decompress(encoding, compressed, 1000)).toEqual(data);
    const error = await rejection(decompress(encoding, compressed, 999));
    expect(error.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(error.message).toContain('999');
  });

  it.each(['gzip', 'deflate'] as const)('%s: a limit of 0 admits only empty messages', async (encoding) => {
    expect(await decompress(encoding, Buffer.from(await compress(encoding, new Uint8Array(0))), 0)).toHaveLength(0);
    const error = await rejection(decompress(encoding, Buffer.from(await compress(encoding, Uint8Array.of(1))), 0));
    expect(error.code).toBe(Status.RESOURCE_EXHAUSTED);
  });

  it.each(['gzip', 'deflate'] as const)('%s: corrupt or truncated data is INTERNAL', async (encoding) => {
    expect((await rejection(decompress(encoding, Buffer.from('definitely not compressed'), 1000))).code).toBe(Status.INTERNAL);
    expect((await rejection(decompress(encoding, Buffer.alloc(0), 1000))).code).toBe(Status.INTERNAL);
    const compressed = Buffer.from(await compress(encoding, Buffer.alloc(500, 'x')));
    expect((await rejection(decompress(encoding, compressed.subarray(0, compressed.length - 4), 1000))).code).toBe(Status.INTERNAL);
  });

  it('refuses gzip data on a deflate stream and vice versa (INTERNAL)', async () => {
    const data = Buffer.from('some message');
    expect((await rejection(decompress('deflate', Buffer.from(await compress('gzip', data)), 100))).code).toBe(Status.INTERNAL);
    expect((await rejection(decompress('gzip', Buffer.from(await compress('deflate', data)), 100))).code).toBe(Status.INTERNAL);
  });

  it('refuses a message flagged compressed on an identity stream (INTERNAL)', async () => {
    const error = await rejection(decompress('identity', Buffer.from('x'), 100));
    expect(error.code).toBe(Status.INTERNAL);
    expect(error.message).toContain('grpc-encoding');
  });

  it('never throws anything but a GrpcError on arbitrary input', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<Encoding>('gzip', 'deflate', 'identity'), fc.uint8Array({ maxLength: 200 }), async (encoding, bytes) => {
        try {
          await decompress(encoding, Buffer.from(bytes), 4096);
        } catch (error) {
          expect(error).toBeInstanceOf(GrpcError);
          expect([Status.INTERNAL, Status.RESOURCE_EXHAUSTED]).toContain((error as GrpcError).code);
        }
      }),
      { numRuns: 50 },
    );
  });
});

describe('compression bombs', () => {
  it.each(['gzip', 'deflate'] as const)(
    '%s: 1 GiB of zeros stops at the 4 MiB limit with RESOURCE_EXHAUSTED while RSS stays under 100 MiB',
    async (encoding) => {
      const bomb = await zerosBomb(encoding, GiB);
      expect(bomb.length).toBeLessThan(2 * MiB);

      const baseline = process.memoryUsage.rss();
      const peakBefore = process.resourceUsage().maxRSS * 1024;
      const error = await rejection(decompress(encoding, bomb, 4 * MiB));
      const after = process.memoryUsage.rss();
      const peakAfter = process.resourceUsage().maxRSS * 1024;

      expect(error.code).toBe(Status.RESOURCE_EXHAUSTED);
      expect(error.message).toContain(String(4 * MiB));
      expect(after - baseline).toBeLessThan(100 * MiB);
      // maxRSS is the process's lifetime peak: if decompression raised it, the new peak must be within bounds too.
      expect(peakAfter).toBeLessThanOrEqual(Math.max(peakBefore, baseline + 100 * MiB));
    },
  );
});
