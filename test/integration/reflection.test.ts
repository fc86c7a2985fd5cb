import * as grpc from '@grpc/grpc-js';
import path from 'node:path';
import protobuf from 'protobufjs';
import descriptorTypes from 'protobufjs/ext/descriptor.js';
import { lastValueFrom, toArray } from 'rxjs';
import { GrpcClient, GrpcServer, loadStub, reflectionStub, Status, stubFromJSON } from '../../lib/index.js';
import { exampleImplementation, exampleStub } from '../helpers/example-service.js';
import { collect, exampleClientConstructor, loadGrpcJsPackage } from '../helpers/grpc-js.js';

const catalogueStub = loadStub(path.resolve('test/fixtures/protos/rich.proto'), 'fixtures.rich.Catalogue');
const extendedStub = loadStub('extensions.proto', 'fixtures.ext.Extended', { includeDirs: ['test/fixtures/protos'] });

type Request = Record<string, unknown>;
type Response = Record<string, any>;

/** A FileDescriptorProto decoded as a plain object (enum fields as names). */
function decodeFile(bytes: Uint8Array): Record<string, any> {
  return descriptorTypes.FileDescriptorProto.toObject(descriptorTypes.FileDescriptorProto.decode(bytes), { enums: String, arrays: true });
}

function fileNames(response: Response): string[] {
  return (response.file_descriptor_response.file_descriptor_proto as Uint8Array[]).map((bytes) => decodeFile(bytes).name as string);
}

describe('server reflection with reflection: true', () => {
  let server: GrpcServer;
  let port: number;
  const clients: Array<{ close(): void }> = [];

  beforeAll(async () => {
    server = new GrpcServer({ reflection: true, health: true });
    server.addService(exampleStub, exampleImplementation);
    server.addService(catalogueStub, { Get: (item: unknown) => item });
    server.addService(extendedStub, { Echo: () => ({ id: 1 }) });
    port = await server.listen('127.0.0.1:0');
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await server.shutdown();
  });

  /** Sends requests on one ServerReflectionInfo call of GrpcClient and collects the responses. */
  function reflect(requests: Request[], version: 'v1' | 'v1alpha' = 'v1'): Promise<Response[]> {
    const client = new GrpcClient(`127.0.0.1:${port}`, reflectionStub(version));
    clients.push(client);
    return lastValueFrom(client.ServerReflectionInfo(requests).pipe(toArray()));
  }

  it('lists every service served, its own included', async () => {
    const [response] = await reflect([{ host: 'h', list_services: '' }]);
    expect(response.valid_host).toBe('h');
    expect(response.original_request).toMatchObject({ host: 'h', list_services: '' });
    expect(response.list_services_response.service).toEqual([
      { name: 'fixtures.ext.Extended' },
      { name: 'fixtures.rich.Catalogue' },
      { name: 'grpc.health.v1.Health' },
      { name: 'grpc.reflection.v1.ServerReflection' },
      { name: 'grpc.reflection.v1alpha.ServerReflection' },
      { name: 'nameko.example' },
    ]);
  });

  it('answers file_containing_symbol with the file and its transitive dependencies, as protoc describes them', async () => {
    const [response] = await reflect([{ file_containing_symbol: 'fixtures.rich.Catalogue' }]);
    expect(fileNames(response)).toEqual(['test/fixtures/protos/rich.proto', 'google/protobuf/timestamp.proto', 'google/protobuf/empty.proto']);
    const rich = decodeFile(response.file_descriptor_response.file_descriptor_proto[0]);
    expect(rich).toMatchObject({ name: 'test/fixtures/protos/rich.proto', package: 'fixtures.rich', syntax: 'proto3' });
    expect(rich.dependency).toEqual(['google/protobuf/timestamp.proto', 'google/protobuf/empty.proto']);
    expect(rich.service).toEqual([
      {
        name: 'Catalogue',
        method: [
          { name: 'Get', inputType: '.fixtures.rich.Item', outputType: '.fixtures.rich.Item' },
          { name: 'List', inputType: '.google.protobuf.Empty', outputType: '.fixtures.rich.Item', serverStreaming: true },
          { name: 'Upload', inputType: '.fixtures.rich.Item', outputType: '.fixtures.rich.ItemList', clientStreaming: true },
          { name: 'Sync', inputType: '.fixtures.rich.Item', outputType: '.fixtures.rich.Item', clientStreaming: true, serverStreaming: true },
        ],
      },
    ]);
    expect(rich.enumType).toEqual([
      { name: 'Colour', value: [{ name: 'COLOUR_UNSPECIFIED', number: 0 }, { name: 'RED', number: 1 }, { name: 'GREEN', number: 2 }], reservedRange: [], reservedName: [] },
    ]);
    const item = rich.messageType.find((message: any) => message.name === 'Item');
    const field = (name: string) => item.field.find((candidate: any) => candidate.name === name);
    expect(field('labels')).toEqual({ name: 'labels', number: 3, label: 'LABEL_REPEATED', type: 'TYPE_MESSAGE', typeName: '.fixtures.rich.Item.Label' });
    expect(field('counts')).toEqual({ name: 'counts', number: 4, label: 'LABEL_REPEATED', type: 'TYPE_MESSAGE', typeName: '.fixtures.rich.Item.CountsEntry' });
    expect(field('created')).toMatchObject({ type: 'TYPE_MESSAGE', typeName: '.google.protobuf.Timestamp' });
    expect(field('url')).toMatchObject({ oneofIndex: 0 });
    expect(field('note')).toMatchObject({ oneofIndex: 1, proto3Optional: true });
    expect(item.oneofDecl).toEqual([{ name: 'source' }, { name: '_note' }]);
    expect(item.nestedType.find((nested: any) => nested.name === 'CountsEntry')).toMatchObject({
      name: 'CountsEntry',
      field: [
        { name: 'key', number: 1, label: 'LABEL_OPTIONAL', type: 'TYPE_STRING' },
        { name: 'value', number: 2, label: 'LABEL_OPTIONAL', type: 'TYPE_INT32' },
      ],
      nestedType: [],
      enumType: [],
      extension: [],
      oneofDecl: [],
      extensionRange: [],
      reservedRange: [],
      reservedName: [],
      options: { mapEntry: true },
    });
    expect(item.nestedType.find((nested: any) => nested.name === 'Label').field[1]).toMatchObject({ typeName: '.fixtures.rich.Colour', type: 'TYPE_ENUM' });
  });

  it('the descriptors rebuild types that read what the served types write', async () => {
    const [response] = await reflect([{ file_containing_symbol: 'fixtures.rich.Item' }]);
    const files = response.file_descriptor_response.file_descriptor_proto.map((bytes: Uint8Array) => descriptorTypes.FileDescriptorProto.decode(bytes));
    const rebuilt = protobuf.Root.fromDescriptor({ file: files } as never);
    const original = new protobuf.Root().loadSync(path.resolve('test/fixtures/protos/rich.proto'), { keepCase: true }).lookupType('fixtures.rich.Item');
    const value = { id: '9', payload: Buffer.from('xy'), labels: [{ text: 't', colour: 'GREEN' }], counts: { a: 2 }, inline_data: Buffer.from('z'), note: 'n', created: { seconds: '5', nanos: 6 }, big: '18446744073709551615' };
    const bytes = original.encode(original.fromObject(value)).finish();
    const options = { longs: String, enums: String, bytes: String, oneofs: true };
    expect(rebuilt.lookupType('fixtures.rich.Item').toObject(rebuilt.lookupType('fixtures.rich.Item').decode(bytes), options)).toEqual(original.toObject(original.decode(bytes), options));
  });

  it.each([
    ['a method', 'fixtures.rich.Catalogue.Get'],
    ['a nested message', 'fixtures.rich.Item.Label'],
    ['an enum', 'fixtures.rich.Colour'],
    ['an enum value', 'fixtures.rich.RED'],
    ['a field', 'fixtures.rich.Item.counts'],
    ['a leading dot', '.fixtures.rich.ItemList'],
  ])('finds the file declaring %s', async (_kind, symbol) => {
    const [response] = await reflect([{ file_containing_symbol: symbol }]);
    expect(fileNames(response)[0]).toBe('test/fixtures/protos/rich.proto');
  });

  it('answers file_by_filename, by the names dependencies use', async () => {
    const [example, timestamp, health] = await reflect([
      { file_by_filename: 'example.proto' },
      { file_by_filename: 'google/protobuf/timestamp.proto' },
      { file_by_filename: 'grpc/health/v1/health.proto' },
    ]);
    expect(fileNames(example)).toEqual(['example.proto']);
    expect(decodeFile(example.file_descriptor_response.file_descriptor_proto[0]).service[0].name).toBe('example');
    expect(fileNames(timestamp)).toEqual(['google/protobuf/timestamp.proto']);
    expect(decodeFile(timestamp.file_descriptor_response.file_descriptor_proto[0]).messageType[0].field.map((f: any) => f.name)).toEqual(['seconds', 'nanos']);
    expect(fileNames(health)).toEqual(['grpc/health/v1/health.proto']);
  });

  it('describes proto2: extensions in their own lists, required fields, defaults, packed fields, groups and reserved ranges', async () => {
    const [response] = await reflect([{ file_containing_symbol: 'fixtures.ext.Extended.Echo' }]);
    expect(fileNames(response)).toEqual(['extensions.proto', 'ext_base.proto']);
    const file = decodeFile(response.file_descriptor_response.file_descriptor_proto[0]);
    expect(file.syntax).toBeUndefined();
    expect(file.dependency).toEqual(['ext_base.proto']);
    expect(file.extension).toEqual([{ name: 'top_label', number: 100, label: 'LABEL_OPTIONAL', type: 'TYPE_STRING', extendee: '.fixtures.ext.Base' }]);
    const holder = file.messageType[0];
    expect(holder.extension).toEqual([{ name: 'nested_number', number: 101, label: 'LABEL_OPTIONAL', type: 'TYPE_INT32', extendee: '.fixtures.ext.Base' }]);
    expect(holder.field).toMatchObject([
      { name: 'base', number: 1, label: 'LABEL_OPTIONAL', type: 'TYPE_MESSAGE', typeName: '.fixtures.ext.Base' },
      { name: 'id', number: 2, label: 'LABEL_REQUIRED', type: 'TYPE_INT32', defaultValue: '7' },
      { name: 'packed_values', number: 3, label: 'LABEL_REPEATED', type: 'TYPE_INT32', options: { packed: true } },
      { name: 'kind', number: 4, label: 'LABEL_OPTIONAL', type: 'TYPE_ENUM', typeName: '.fixtures.ext.Holder.Kind', defaultValue: 'SECOND' },
      { name: 'extra', number: 5, label: 'LABEL_OPTIONAL', type: 'TYPE_GROUP', typeName: '.fixtures.ext.Holder.Extra' },
    ]);
    expect(holder.reservedRange).toEqual([{ start: 8, end: 11 }]);
    expect(holder.reservedName).toEqual(['old_name']);
    const base = decodeFile(response.file_descriptor_response.file_descriptor_proto[1]).messageType[0];
    // The fields extensions add to Base belong to the extending file, not to Base.
    expect(base.field.map((f: any) => f.name)).toEqual(['name']);
    expect(base.extensionRange).toEqual([{ start: 100, end: 200 }]);
  });

  it('answers extension queries', async () => {
    const [byNumber, nested, numbers, unknownNumber, unknownType] = await reflect([
      { file_containing_extension: { containing_type: 'fixtures.ext.Base', extension_number: 100 } },
      { file_containing_extension: { containing_type: 'fixtures.ext.Base', extension_number: 101 } },
      { all_extension_numbers_of_type: 'fixtures.ext.Base' },
      { file_containing_extension: { containing_type: 'fixtures.ext.Base', extension_number: 150 } },
      { all_extension_numbers_of_type: 'fixtures.ext.Nothing' },
    ]);
    expect(fileNames(byNumber)[0]).toBe('extensions.proto');
    expect(fileNames(nested)[0]).toBe('extensions.proto');
    expect(numbers.all_extension_numbers_response).toEqual({ base_type_name: 'fixtures.ext.Base', extension_number: [100, 101] });
    expect(unknownNumber.error_response).toEqual({ error_code: Status.NOT_FOUND, error_message: 'Extension not found: fixtures.ext.Base 150' });
    expect(unknownType.error_response.error_code).toBe(Status.NOT_FOUND);
  });

  it('answers unknown names with a NOT_FOUND error_response and goes on answering the stream', async () => {
    const responses = await reflect([
      { file_containing_symbol: 'nope.Missing' },
      { file_by_filename: 'missing.proto' },
      { host: 'x' },
      { file_containing_symbol: 'nameko.example' },
    ]);
    expect(responses.map((response) => response.message_response)).toEqual(['error_response', 'error_response', 'error_response', 'file_descriptor_response']);
    expect(responses[0].error_response).toEqual({ error_code: Status.NOT_FOUND, error_message: 'Symbol not found: nope.Missing' });
    expect(responses[1].error_response).toEqual({ error_code: Status.NOT_FOUND, error_message: 'File not found: missing.proto' });
    expect(responses[2].error_response.error_code).toBe(Status.INVALID_ARGUMENT);
  });

  it('lists a service whose stub has no proto, and answers NOT_FOUND for its symbols', async () => {
    const server2 = new GrpcServer({ reflection: true });
    server2.addService(exampleClientConstructor().service, exampleImplementation);
    const port2 = await server2.listen('127.0.0.1:0');
    const client = new GrpcClient(`127.0.0.1:${port2}`, reflectionStub());
    try {
      const [list, symbol] = await lastValueFrom(client.ServerReflectionInfo([{ list_services: '' }, { file_containing_symbol: 'nameko.example' }]).pipe(toArray()));
      expect(list.list_services_response!.service.map((s) => s.name)).toContain('nameko.example');
      expect(symbol.error_response).toEqual({ error_code: Status.NOT_FOUND, error_message: 'Symbol not found: nameko.example' });
    } finally {
      client.close();
      await server2.shutdown();
    }
  });

  it('describes services from a JSON descriptor (stubFromJSON), one file per package', async () => {
    const json = new protobuf.Root().loadSync(path.resolve('protos/example.proto'), { keepCase: true }).toJSON();
    const server2 = new GrpcServer({ reflection: true });
    server2.addService(stubFromJSON(json, 'nameko.example'), exampleImplementation);
    const port2 = await server2.listen('127.0.0.1:0');
    const client = new GrpcClient(`127.0.0.1:${port2}`, reflectionStub());
    try {
      const [symbol] = await lastValueFrom(client.ServerReflectionInfo([{ file_containing_symbol: 'nameko.example.unary_unary' }]).pipe(toArray()));
      const file = decodeFile(symbol.file_descriptor_response!.file_descriptor_proto[0]);
      expect(file).toMatchObject({ name: 'nameko.proto', package: 'nameko', syntax: 'proto3' });
      expect(file.messageType.map((m: any) => m.name).sort()).toEqual(['ExampleReply', 'ExampleRequest']);
    } finally {
      client.close();
      await server2.shutdown();
    }
  });

  it('keeps the proto field names when the stub was loaded with keepCase: false', async () => {
    const server2 = new GrpcServer({ reflection: true });
    server2.addService(loadStub(path.resolve('test/fixtures/protos/rich.proto'), 'fixtures.rich.Catalogue', { keepCase: false }), { Get: (item: unknown) => item });
    const port2 = await server2.listen('127.0.0.1:0');
    const client = new GrpcClient(`127.0.0.1:${port2}`, reflectionStub());
    try {
      const [symbol] = await lastValueFrom(client.ServerReflectionInfo([{ file_containing_symbol: 'fixtures.rich.Item.inline_data' }]).pipe(toArray()));
      const item = decodeFile(symbol.file_descriptor_response!.file_descriptor_proto[0]).messageType.find((m: any) => m.name === 'Item');
      expect(item.field.map((f: any) => f.name)).toContain('inline_data');
    } finally {
      client.close();
      await server2.shutdown();
    }
  });

  it('v1alpha answers the same, to a @grpc/grpc-js client', async () => {
    const pkg = loadGrpcJsPackage('grpc/reflection/v1alpha/reflection.proto') as any;
    const Reflection = pkg.grpc.reflection.v1alpha.ServerReflection as grpc.ServiceClientConstructor;
    const client = new Reflection(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, any>;
    try {
      const call = client.ServerReflectionInfo();
      const result = collect(call);
      call.write({ list_services: '' });
      call.write({ file_containing_symbol: 'nameko.example' });
      call.end();
      const { messages, status } = await result;
      expect(status.code).toBe(grpc.status.OK);
      expect(messages[0].list_services_response.service.map((s: { name: string }) => s.name)).toContain('grpc.reflection.v1alpha.ServerReflection');
      expect(fileNames(messages[1])).toEqual(['example.proto']);
    } finally {
      client.close();
    }
  });
});

describe('server reflection without the option', () => {
  it('is not served: UNIMPLEMENTED', async () => {
    const server = new GrpcServer();
    server.addService(exampleStub, exampleImplementation);
    const port = await server.listen('127.0.0.1:0');
    const client = new GrpcClient(`127.0.0.1:${port}`, reflectionStub());
    try {
      await expect(lastValueFrom(client.ServerReflectionInfo([{ list_services: '' }]))).rejects.toMatchObject({ code: Status.UNIMPLEMENTED });
    } finally {
      client.close();
      await server.shutdown();
    }
  });
});
