import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { loadProtoRoot, loadStub, loadStubs } from '../../lib/protocol/load-stub.js';
import { type MethodDescriptor, type ServiceDescriptor, toServiceDescriptor } from '../../lib/protocol/stub.js';
import { wellFormedString } from '../fixtures/arbitraries.js';
import { ExampleDefinition, type ExampleReply, type ExampleRequest } from '../fixtures/ts-proto-example.js';

const PROTO = 'protos/example.proto';

const EXPECTED_METHODS = {
  unary_unary: { requestStream: false, responseStream: false },
  unary_stream: { requestStream: false, responseStream: true },
  stream_unary: { requestStream: true, responseStream: false },
  stream_stream: { requestStream: true, responseStream: true },
};

const packageDefinition = protoLoader.loadSync(PROTO, { keepCase: true });
const grpcPackage = grpc.loadPackageDefinition(packageDefinition) as unknown as {
  nameko: { example: grpc.ServiceClientConstructor };
};

/** Every stub form, each normalised afresh. */
const FORMS: [string, () => ServiceDescriptor][] = [
  ['@grpc/grpc-js client constructor', () => toServiceDescriptor(grpcPackage.nameko.example)],
  ['@grpc/grpc-js ServiceDefinition (.service)', () => toServiceDescriptor(grpcPackage.nameko.example.service)],
  [
    '@grpc/proto-loader package definition entry',
    () => toServiceDescriptor(packageDefinition['nameko.example'] as grpc.ServiceDefinition),
  ],
  ['loadStub', () => loadStub(PROTO, 'nameko.example')],
  ['loadStubs', () => loadStubs(PROTO)['nameko.example']],
  ['loadStubs by package', () => loadStubs(PROTO, 'nameko')['nameko.example']],
  ['protobufjs Service', () => toServiceDescriptor(loadProtoRoot(PROTO).lookupService('nameko.example'))],
  ['ts-proto generic definition', () => toServiceDescriptor(ExampleDefinition)],
];

const REQUEST: ExampleRequest = { value: 'A', multiplier: 2 };
const REPLY: ExampleReply = { message: 'AA', seqno: 1 };

/** Forms differ in how they present unset proto3 fields (absent or default): compare with defaults filled in. */
function request(value: Record<string, unknown>): ExampleRequest {
  return { value: (value.value as string | undefined) ?? '', multiplier: (value.multiplier as number | undefined) ?? 0 };
}

function reply(value: Record<string, unknown>): ExampleReply {
  return { message: (value.message as string | undefined) ?? '', seqno: (value.seqno as number | undefined) ?? 0 };
}

function bytes(value: Uint8Array): number[] {
  return Array.from(value);
}

describe.each(FORMS)('stub form: %s', (_name, load) => {
  const stub = load();

  it("is the service 'nameko.example' with its four methods", () => {
    expect(stub.name).toBe('nameko.example');
    expect(Object.keys(stub.methods).sort()).toEqual(Object.keys(EXPECTED_METHODS).sort());
  });

  it.each(Object.entries(EXPECTED_METHODS))('describes %s with its path and streaming flags', (method, flags) => {
    const descriptor = stub.methods[method];
    expect(descriptor.service).toBe('nameko.example');
    expect(descriptor.name).toBe(method);
    expect(descriptor.path).toBe(`/nameko.example/${method}`);
    expect(descriptor.requestStream).toBe(flags.requestStream);
    expect(descriptor.responseStream).toBe(flags.responseStream);
  });

  it('round-trips ExampleRequest and ExampleReply through its codecs', () => {
    for (const method of Object.values(stub.methods)) {
      expect(request(method.deserializeRequest(Buffer.from(method.serializeRequest(REQUEST))))).toEqual(REQUEST);
      expect(reply(method.deserializeResponse(Buffer.from(method.serializeResponse(REPLY))))).toEqual(REPLY);
    }
  });

  it('encodes ExampleRequest {value: "A", multiplier: 2} as the canonical protobuf bytes', () => {
    expect(bytes(stub.methods.unary_unary.serializeRequest(REQUEST))).toEqual([0x0a, 0x01, 0x41, 0x10, 0x02]);
  });

  it('is cached per stub object', () => {
    expect(toServiceDescriptor(stub)).toBe(stub);
  });
});

describe('stub interoperability', () => {
  const stubs = FORMS.map(([name, load]) => [name, load()] as const);
  const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
  const requests = fc.record({ value: wellFormedString({ maxLength: 20 }), multiplier: int32 });
  const replies = fc.record({ message: wellFormedString({ maxLength: 20 }), seqno: int32 });

  it('decodes bytes written by any form in every other form', () => {
    fc.assert(
      fc.property(requests, replies, fc.constantFrom(...Object.keys(EXPECTED_METHODS)), (req, res, method) => {
        for (const [, writer] of stubs) {
          const requestBytes = Buffer.from(writer.methods[method].serializeRequest(req));
          const replyBytes = Buffer.from(writer.methods[method].serializeResponse(res));
          for (const [, reader] of stubs) {
            expect(request(reader.methods[method].deserializeRequest(requestBytes))).toEqual(req);
            expect(reply(reader.methods[method].deserializeResponse(replyBytes))).toEqual(res);
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it('writes identical bytes in every form', () => {
    const expected = bytes(stubs[0][1].methods.stream_stream.serializeResponse(REPLY));
    for (const [name, stub] of stubs) expect([name, bytes(stub.methods.stream_stream.serializeResponse(REPLY))]).toEqual([name, expected]);
  });
});

describe('toServiceDescriptor', () => {
  it('passes a ServiceDescriptor through unchanged', () => {
    const method: MethodDescriptor = {
      service: 'a.B',
      name: 'C',
      path: '/a.B/C',
      requestStream: false,
      responseStream: false,
      serializeRequest: (value: Uint8Array) => value,
      deserializeRequest: (data: Buffer) => data,
      serializeResponse: (value: Uint8Array) => value,
      deserializeResponse: (data: Buffer) => data,
    };
    const descriptor: ServiceDescriptor = { name: 'a.B', methods: { C: method } };
    expect(toServiceDescriptor(descriptor)).toBe(descriptor);
  });

  it('keys grpc-js methods by the proto name from the path, whatever the definition key', () => {
    const original = grpcPackage.nameko.example.service;
    const camelKeyed = Object.fromEntries(Object.values(original).map((method) => [method.originalName, method]));
    const descriptor = toServiceDescriptor(camelKeyed as grpc.ServiceDefinition);
    expect(Object.keys(descriptor.methods).sort()).toEqual(Object.keys(EXPECTED_METHODS).sort());
    expect(descriptor.methods.unary_stream.path).toBe('/nameko.example/unary_stream');
  });

  it('keys ts-proto methods by their proto name, not the camelCase property', () => {
    const descriptor = toServiceDescriptor(ExampleDefinition);
    expect(Object.keys(descriptor.methods)).toEqual(['unary_unary', 'unary_stream', 'stream_unary', 'stream_stream']);
    // ts-proto's fromPartial fills in unset fields.
    expect(ExampleDefinition.methods.unaryUnary.requestType.decode(descriptor.methods.unary_unary.serializeRequest({ value: 'x' } as ExampleRequest))).toEqual({
      value: 'x',
      multiplier: 0,
    });
  });

  it('converts protobufjs messages to plain objects with defaults filled in', () => {
    const stub = loadStub(PROTO, 'nameko.example');
    expect(stub.methods.unary_unary.deserializeRequest(Buffer.alloc(0))).toEqual({ value: '', multiplier: 0 });
    expect(stub.methods.unary_unary.serializeRequest({})).toHaveLength(0);
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a number', 42],
    ['a string', 'nameko.example'],
    ['an empty object', {}],
    ['an unrelated object', { foo: 1 }],
    ['an empty array', []],
    ['a function without a service', () => undefined],
    ['an object with an empty service', { service: {} }],
    ['a grpc-js-like definition missing its codecs', { m: { path: '/a.B/m', requestStream: false, responseStream: false } }],
    ['a descriptor whose methods lack codecs', { name: 'a.B', methods: { C: { path: '/a.B/C' } } }],
  ])('refuses %s with a TypeError saying what a stub is', (_label, value) => {
    let error: unknown;
    try {
      toServiceDescriptor(value as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/^Invalid stub/);
    if (value !== null && typeof value === 'object') {
      expect((error as Error).message).toContain('@grpc/grpc-js');
      expect((error as Error).message).toContain('ts-proto');
      expect((error as Error).message).toContain('protobufjs');
    }
  });
});

describe('loadStub and loadStubs', () => {
  it('accepts a leading dot in the service name', () => {
    expect(loadStub(PROTO, '.nameko.example').name).toBe('nameko.example');
  });

  it('names the services it found when the service is unknown', () => {
    let error: unknown;
    try {
      loadStub(PROTO, 'nameko.Missing');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain('nameko.Missing');
    expect((error as Error).message).toContain('found: nameko.example');
  });

  it('says "none" when the files have no services', () => {
    expect(() => loadStub('google/rpc/status.proto', 'google.rpc.Status')).toThrow(/found: none/);
  });

  it('filters by package, sub-packages included and prefixes excluded', () => {
    expect(Object.keys(loadStubs(PROTO))).toEqual(['nameko.example']);
    expect(Object.keys(loadStubs(PROTO, 'nameko'))).toEqual(['nameko.example']);
    expect(Object.keys(loadStubs(PROTO, 'namek'))).toEqual([]);
    expect(Object.keys(loadStubs(PROTO, 'other'))).toEqual([]);
  });

  it('throws naming a missing file', () => {
    expect(() => loadStub('protos/does-not-exist.proto', 'a.B')).toThrow(/does-not-exist\.proto/);
  });

  it('resolves the bundled google/rpc protos, Any included', () => {
    const root = loadProtoRoot(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
    expect(root.lookupType('google.rpc.Status').fields.details.resolvedType?.fullName).toBe('.google.protobuf.Any');
    expect(root.lookupType('google.rpc.BadRequest')).toBeInstanceOf(protobuf.Type);
  });
});

// Compile-time checks: stubs carry their message types and literal streaming flags.
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const tsProtoStub = () => toServiceDescriptor(ExampleDefinition);
type TsProtoMethods = ReturnType<typeof tsProtoStub>['methods'];
const typeChecks: [
  Equals<TsProtoMethods['unary_unary']['requestStream'], false>,
  Equals<TsProtoMethods['unary_stream']['responseStream'], true>,
  Equals<TsProtoMethods['stream_unary']['requestStream'], true>,
  Equals<ReturnType<TsProtoMethods['stream_stream']['deserializeRequest']>, ExampleRequest>,
  Equals<ReturnType<TsProtoMethods['stream_stream']['deserializeResponse']>, ExampleReply>,
] = [true, true, true, true, true];

it('types ts-proto stubs by their messages and streaming flags (checked by tsc)', () => {
  expect(typeChecks).toEqual([true, true, true, true, true]);
});
