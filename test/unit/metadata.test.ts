import fc from 'fast-check';
import { isBinaryKey, isReservedHeader, Metadata, type MetadataValue } from '../../lib/protocol/metadata.js';
import { anyString } from '../fixtures/arbitraries.js';

type Entry = [string, MetadataValue];

const keyBody = fc.oneof(
  { weight: 8, arbitrary: fc.stringMatching(/^[0-9a-z_.-]{1,16}$/) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'hasownproperty', 'tostring', 'valueof') },
);
const asciiKey = keyBody.filter((key) => !isReservedHeader(key) && !isBinaryKey(key));
const binaryKey = keyBody.map((key) => `${key}-bin`).filter((key) => !isReservedHeader(key));
const reservedKey = fc.constantFrom(':path', 'grpc-status', 'grpc-status-details-bin', 'te', 'content-type', 'user-agent', 'Host');
const asciiValue = fc.stringMatching(/^[\x20-\x7e]{0,30}$/);
const binaryValue = fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes));

const asciiEntry: fc.Arbitrary<Entry> = fc.tuple(asciiKey, asciiValue);
const binaryEntry: fc.Arbitrary<Entry> = fc.tuple(binaryKey, binaryValue);
const entries = fc.array(fc.oneof(asciiEntry, binaryEntry), { maxLength: 20 });

function metadataOf(list: readonly Entry[]): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of list) metadata.add(key, value);
  return metadata;
}

/** The key/value pairs, ordered by key (first insertion) then by value order within the key. */
function pairs(metadata: Metadata): Entry[] {
  return [...metadata];
}

/**
 * Key → values, keys sorted: header blocks are plain objects, where integer-like keys ("0") come
 * first whatever the insertion order, so only the order of values within a key is meaningful.
 */
function byKey(metadata: Metadata): [string, MetadataValue[]][] {
  return [...metadata.keys()].sort().map((key) => [key, metadata.get(key)]);
}

function rawHeaders(headers: Record<string, string[]>): string[] {
  return Object.keys(headers).flatMap((key) => headers[key].flatMap((value) => [key, value]));
}

function thrown(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('Metadata round trip', () => {
  it('toHeaders → fromHeaders gives the same values, Buffers included', () => {
    fc.assert(
      fc.property(entries, (list) => {
        const metadata = metadataOf(list);
        expect(byKey(Metadata.fromHeaders(metadata.toHeaders()))).toEqual(byKey(metadata));
      }),
    );
  });

  it('toHeaders → fromRawHeaders gives the same values, Buffers included', () => {
    fc.assert(
      fc.property(entries, (list) => {
        const metadata = metadataOf(list);
        expect(byKey(Metadata.fromRawHeaders(rawHeaders(metadata.toHeaders())))).toEqual(byKey(metadata));
      }),
    );
  });

  it('sends -bin values as unpadded base64 and accepts them padded', () => {
    fc.assert(
      fc.property(fc.array(binaryEntry, { maxLength: 10 }), (list) => {
        const metadata = metadataOf(list);
        const headers = metadata.toHeaders();
        for (const key of Object.keys(headers)) {
          for (const value of headers[key]) {
            expect(value).not.toContain('=');
            expect(value).toMatch(/^[A-Za-z0-9+/]*$/);
          }
        }
        const padded: Record<string, string[]> = Object.create(null);
        for (const [key, value] of metadata) (padded[key] ??= []).push((value as Buffer).toString('base64'));
        expect(byKey(Metadata.fromHeaders(padded))).toEqual(byKey(metadata));
        expect(byKey(Metadata.fromRawHeaders(rawHeaders(padded)))).toEqual(byKey(metadata));
      }),
    );
  });

  it('splits comma-separated -bin values (repeated fields joined by Node), padded or not', () => {
    fc.assert(
      fc.property(fc.array(binaryEntry, { maxLength: 10 }), fc.boolean(), fc.constantFrom(',', ', '), (list, pad, separator) => {
        const metadata = metadataOf(list);
        const joined: Record<string, string> = Object.create(null);
        for (const key of metadata.keys()) {
          joined[key] = metadata
            .get(key)
            .map((value) => (pad ? (value as Buffer).toString('base64') : (value as Buffer).toString('base64').replace(/=+$/, '')))
            .join(separator);
        }
        expect(byKey(Metadata.fromHeaders(joined))).toEqual(byKey(metadata));
        expect(byKey(Metadata.fromRawHeaders(Object.entries(joined).flat()))).toEqual(byKey(metadata));
      }),
    );
  });

  it('decodes known -bin examples', () => {
    const metadata = Metadata.fromRawHeaders(['x-bin', 'AAEC', 'x-bin', 'AQ==', 'y-bin', 'AA,AQI=, /w']);
    expect(metadata.get('x-bin')).toEqual([Buffer.of(0, 1, 2), Buffer.of(1)]);
    expect(metadata.get('y-bin')).toEqual([Buffer.of(0), Buffer.of(1, 2), Buffer.of(0xff)]);
    expect(new Metadata({ 'z-bin': Buffer.of(0xfb, 0xff) }).toHeaders()).toEqual({ 'z-bin': ['+/8'] });
  });

  it('never throws on arbitrary received headers', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(asciiKey, binaryKey, reservedKey, anyString({ maxLength: 12 })), { maxLength: 16 }), (raw) => {
        const metadata = Metadata.fromRawHeaders(raw);
        for (const [key] of metadata) expect(isReservedHeader(key)).toBe(false);
      }),
    );
  });

  it('lets any received metadata be echoed back (PROTOCOL-HTTP2.md: accepted values must not error when echoed)', () => {
    const received = fc.array(fc.oneof(asciiKey, binaryKey, reservedKey, anyString({ maxLength: 12 })), { maxLength: 16 });
    fc.assert(
      fc.property(received, (raw) => {
        const metadata = Metadata.fromRawHeaders(raw);
        const fromObject = Metadata.fromHeaders(Object.fromEntries(Object.entries(metadata.toHeaders())));
        expect(byKey(new Metadata().merge(metadata))).toEqual(byKey(metadata));
        expect(byKey(new Metadata(metadata))).toEqual(byKey(metadata));
        expect(byKey(new Metadata().merge(fromObject))).toEqual(byKey(fromObject));
      }),
    );
  });

  it('drops received ASCII values that add() would refuse, keeping the rest', () => {
    const raw = ['x-ok', 'fine', 'x-tab', 'a\tb', 'x-latin', 'caf\u00e9', 'x-ctl', '\u0001', 'x-ok', ' spaced ', 'x-bin', 'AQ'];
    const metadata = Metadata.fromRawHeaders(raw);
    expect(pairs(metadata)).toEqual([
      ['x-ok', 'fine'],
      ['x-ok', ' spaced '],
      ['x-bin', Buffer.of(1)],
    ]);
    expect(pairs(Metadata.fromHeaders({ 'x-tab': 'a\tb', 'x-list': ['ok', 'caf\u00e9'] }))).toEqual([['x-list', 'ok']]);
    expect(() => new Metadata().merge(metadata)).not.toThrow();
  });
});

describe('Metadata keys and values', () => {
  it('lower-cases keys', () => {
    const metadata = new Metadata().add('X-Trace-ID', 'a').add('x-trace-id', 'b');
    expect([...metadata.keys()]).toEqual(['x-trace-id']);
    expect(metadata.get('X-TRACE-ID')).toEqual(['a', 'b']);
    expect(metadata.has('X-Trace-Id')).toBe(true);
    expect(metadata.first('x-Trace-id')).toBe('a');
    expect(Metadata.fromRawHeaders(['X-Upper', 'v']).get('x-upper')).toEqual(['v']);
    expect(metadata.toHeaders()).toEqual({ 'x-trace-id': ['a', 'b'] });
  });

  it('keeps several values per key in order', () => {
    const metadata = new Metadata().add('k', '1').add('other', 'x').add('k', '2').add('k', '3');
    expect(metadata.get('k')).toEqual(['1', '2', '3']);
    expect(metadata.first('k')).toBe('1');
    expect(metadata.size).toBe(2);
    expect(pairs(metadata)).toEqual([
      ['k', '1'],
      ['k', '2'],
      ['k', '3'],
      ['other', 'x'],
    ]);
    expect(Metadata.fromRawHeaders(['k', '1', 'j', 'x', 'k', '2']).get('k')).toEqual(['1', '2']);
    expect(Metadata.fromHeaders({ k: ['1', '2', '3'] }).get('k')).toEqual(['1', '2', '3']);
  });

  it('set replaces every value; delete removes the key; get returns a copy', () => {
    const metadata = new Metadata().add('k', '1').add('k', '2');
    metadata.set('K', '3');
    expect(metadata.get('k')).toEqual(['3']);
    metadata.get('k').push('mutated');
    expect(metadata.get('k')).toEqual(['3']);
    expect(metadata.delete('k')).toBe(true);
    expect(metadata.delete('k')).toBe(false);
    expect(metadata.has('k')).toBe(false);
    expect(metadata.get('k')).toEqual([]);
    expect(metadata.first('k')).toBeUndefined();
  });

  it('builds from a record (one value or several) or from pairs, and copies another Metadata', () => {
    const fromRecord = new Metadata({ a: '1', b: ['2', '3'], 'c-bin': Buffer.of(4), 'd-bin': [Buffer.of(5), Buffer.of(6)] });
    expect(pairs(fromRecord)).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['b', '3'],
      ['c-bin', Buffer.of(4)],
      ['d-bin', Buffer.of(5)],
      ['d-bin', Buffer.of(6)],
    ]);
    const fromPairs = new Metadata([
      ['a', '1'],
      ['A', '2'],
    ]);
    expect(fromPairs.get('a')).toEqual(['1', '2']);
    expect(pairs(new Metadata(fromRecord))).toEqual(pairs(fromRecord));
  });

  it('clones independently and merges by appending', () => {
    const original = new Metadata().add('k', '1');
    const copy = original.clone();
    copy.add('k', '2').add('j', 'x');
    expect(original.get('k')).toEqual(['1']);
    expect(original.has('j')).toBe(false);
    original.merge(copy);
    expect(original.get('k')).toEqual(['1', '1', '2']);
    expect(original.get('j')).toEqual(['x']);
  });

  it('serializes to JSON as key → values', () => {
    expect(new Metadata().add('a', '1').add('a', '2').add('b', 'x').toJSON()).toEqual({ a: ['1', '2'], b: ['x'] });
  });

  it.each(['Bad Key', '', 'ключ', 'a/b', 'a:b', 'tab\tkey', 'a,b', 'x"y'])('refuses the key %j with a TypeError naming it', (key) => {
    for (const action of [
      () => new Metadata().add(key, 'v'),
      () => new Metadata().set(key, 'v'),
      () => new Metadata({ [key]: 'v' }),
    ]) {
      const error = thrown(action);
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toContain(JSON.stringify(key));
    }
  });

  it.each([
    ':path',
    ':authority',
    'grpc-timeout',
    'grpc-status',
    'grpc-message',
    'grpc-status-details-bin',
    'grpc-encoding',
    'te',
    'content-type',
    'Content-Type',
    'user-agent',
    'connection',
    'transfer-encoding',
    'host',
  ])('refuses the reserved header %s in add, set and the constructor', (key) => {
    const value = key.endsWith('-bin') ? Buffer.of(1) : 'v';
    for (const action of [
      () => new Metadata().add(key, value),
      () => new Metadata().set(key, value),
      () => new Metadata([[key, value]]),
    ]) {
      const error = thrown(action);
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toContain(JSON.stringify(key));
    }
  });

  it('identifies reserved headers', () => {
    for (const key of [':status', 'grpc-foo', 'te', 'content-type', 'content-length', 'user-agent', 'connection', 'keep-alive', 'upgrade']) {
      expect(isReservedHeader(key)).toBe(true);
    }
    for (const key of ['x-grpc-foo', 'authorization', 'grpc', 'tea', 'user-agent-x', 'grpc-retry-pushback-ms']) expect(isReservedHeader(key)).toBe(false);
  });

  it('requires Buffers for -bin keys and printable ASCII strings for others, naming the key', () => {
    const cases: [string, unknown][] = [
      ['data-bin', 'text'],
      ['plain', Buffer.of(1)],
      ['plain', 'line\nbreak'],
      ['plain', 'caf\u00e9'],
      ['plain', '\u0000'],
      ['plain', 42],
    ];
    for (const [key, value] of cases) {
      const error = thrown(() => new Metadata().add(key, value as MetadataValue));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toContain(key);
    }
    expect(new Metadata().add('plain', ' !~ spaced ').get('plain')).toEqual([' !~ spaced ']);
    expect(new Metadata().add('empty', '').get('empty')).toEqual(['']);
  });

  it('skips reserved and malformed headers when reading a received block', () => {
    const metadata = Metadata.fromRawHeaders([
      ':status', '200',
      'content-type', 'application/grpc',
      'grpc-status', '0',
      'grpc-message', 'ok',
      'grpc-encoding', 'gzip',
      'te', 'trailers',
      'user-agent', 'grpc-node-js/1.14',
      'bad key', 'v',
      'x-custom', 'kept',
      'dangling',
    ]);
    expect(pairs(metadata)).toEqual([['x-custom', 'kept']]);
    const fromObject = Metadata.fromHeaders({
      ':status': 200,
      'content-type': 'application/grpc',
      'grpc-status': '0',
      'x-custom': 'kept',
      'x-missing': undefined,
      'x-list': ['a', 'b'],
    });
    expect(pairs(fromObject)).toEqual([
      ['x-custom', 'kept'],
      ['x-list', 'a'],
      ['x-list', 'b'],
    ]);
  });
});

describe('Metadata and prototype keys', () => {
  afterEach(() => {
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTOTYPE_NAMES);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();

  it('treats __proto__ and constructor as ordinary keys', () => {
    const metadata = new Metadata().add('__proto__', 'polluted').add('constructor', 'c').add('__proto__', 'again');
    expect(metadata.get('__proto__')).toEqual(['polluted', 'again']);
    expect(metadata.get('constructor')).toEqual(['c']);
    expect([...metadata.keys()]).toEqual(['__proto__', 'constructor']);
    const headers = metadata.toHeaders();
    expect(Object.keys(headers)).toEqual(['__proto__', 'constructor']);
    expect(headers['__proto__']).toEqual(['polluted', 'again']);
    const json = metadata.toJSON();
    expect(Object.getPrototypeOf(json)).toBe(Object.prototype);
    expect(Object.keys(json)).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(json, '__proto__')?.value).toEqual(['polluted', 'again']);
  });

  it('reads __proto__ and constructor from received headers without polluting anything', () => {
    const fromRaw = Metadata.fromRawHeaders(['__proto__', 'polluted', 'constructor', 'x', 'prototype', 'y']);
    expect(pairs(fromRaw)).toEqual([
      ['__proto__', 'polluted'],
      ['constructor', 'x'],
      ['prototype', 'y'],
    ]);
    const headers = JSON.parse('{"__proto__": "polluted", "constructor": ["a", "b"]}') as Record<string, string | string[]>;
    expect(pairs(Metadata.fromHeaders(headers))).toEqual([
      ['__proto__', 'polluted'],
      ['constructor', 'a'],
      ['constructor', 'b'],
    ]);
    expect(pairs(new Metadata(headers))).toEqual(pairs(Metadata.fromHeaders(headers)));
  });

  it('answers nothing for prototype keys that were never set', () => {
    const metadata = new Metadata();
    for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(metadata.has(key)).toBe(false);
      expect(metadata.get(key)).toEqual([]);
      expect(metadata.first(key)).toBeUndefined();
    }
    expect(Object.keys(metadata.toHeaders())).toEqual([]);
  });
});
