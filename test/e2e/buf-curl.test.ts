/**
 * Server reflection proven with a client we did not write: `buf curl` (the Go buf CLI from the
 * @bufbuild/buf devDependency, its binary shipped inside the npm package) discovers the sample
 * app's services and message types by reflection alone and calls them. buf builds the
 * descriptors it receives with Go's protodesc, which validates them strictly.
 */
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import path from 'node:path';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GrpcServer, type GrpcTransport, loadStub } from '../../lib/index.js';
import { AppModule } from '../../sample/app.module.js';
import { sampleTransport } from '../../sample/transport.js';

const BUF = path.resolve('node_modules/.bin/buf');

/** Runs `buf curl` over plaintext HTTP/2 with the gRPC protocol; resolves with its output, or rejects with it. */
function bufCurl(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(BUF, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args], { encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`buf curl ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`)) : resolve(stdout),
    );
  });
}

/** buf curl prints each response message as a JSON object; a stream prints several. */
function jsonObjects(output: string): unknown[] {
  return output
    .split(/(?<=^\})\n/m)
    .map((chunk) => chunk.trim())
    .filter((chunk) => chunk !== '')
    .map((chunk) => JSON.parse(chunk));
}

describe('buf curl --reflect against the sample app', () => {
  let app: INestMicroservice;
  let base: string;

  beforeAll(async () => {
    const transport: GrpcTransport = sampleTransport('127.0.0.1:0');
    app = await NestFactory.createMicroservice(AppModule, { strategy: transport, logger: false });
    await app.listen();
    base = `http://127.0.0.1:${transport.port}`;
  });

  afterAll(() => app.close());

  it('lists the services', async () => {
    expect((await bufCurl('--list-services', base)).trim().split('\n')).toEqual([
      'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection',
      'grpc.reflection.v1alpha.ServerReflection',
      'nameko.example',
    ]);
  });

  it('lists the methods', async () => {
    const methods = (await bufCurl('--list-methods', base)).trim().split('\n');
    expect(methods).toEqual(expect.arrayContaining(['nameko.example/unary_unary', 'nameko.example/unary_stream', 'nameko.example/stream_unary', 'nameko.example/stream_stream']));
  });

  it('calls unary_unary with a JSON request it encoded from the reflected schema', async () => {
    expect(jsonObjects(await bufCurl('--reflect', '-d', '{"value": "A", "multiplier": 3}', `${base}/nameko.example/unary_unary`))).toEqual([{ message: 'AAA' }]);
  });

  it('calls unary_stream and prints each reply', async () => {
    expect(jsonObjects(await bufCurl('-d', '{"value": "B", "multiplier": 2}', `${base}/nameko.example/unary_stream`))).toEqual([
      { message: 'BB', seqno: 1 },
      { message: 'BB', seqno: 2 },
    ]);
  });

  it('checks health over v1alpha reflection', async () => {
    expect(jsonObjects(await bufCurl('--reflect-protocol', 'grpc-v1alpha', '-d', '{}', `${base}/grpc.health.v1.Health/Check`))).toEqual([{ status: 'SERVING' }]);
  });

  it('fails on a method the reflected schema lacks', async () => {
    await expect(bufCurl('-d', '{}', `${base}/nameko.example/missing`)).rejects.toThrow(/missing/);
  });
});

describe('buf curl accepts our descriptors of proto3 and proto2 features', () => {
  let server: GrpcServer;
  let base: string;

  beforeAll(async () => {
    server = new GrpcServer({ reflection: true });
    server.addService(loadStub(path.resolve('test/fixtures/protos/rich.proto'), 'fixtures.rich.Catalogue'), { Get: (item: unknown) => item });
    server.addService(loadStub('extensions.proto', 'fixtures.ext.Extended', { includeDirs: ['test/fixtures/protos'] }), {
      Echo: () => ({ id: 3, packed_values: [1, 2], kind: 'FIRST', extra: { note: 'n' } }),
    });
    base = `http://127.0.0.1:${await server.listen('127.0.0.1:0')}`;
  });

  afterAll(() => server.shutdown());

  it('maps, oneofs, proto3 optional, nested messages, enums, 64-bit integers and well-known types', async () => {
    const item = {
      id: '5',
      payload: 'eHk=',
      labels: [{ text: 't', colour: 'RED' }],
      counts: { a: 1, b: 2 },
      url: 'https://example.com',
      note: '',
      created: '2024-01-01T00:00:00Z',
      big: '18446744073709551615',
    };
    expect(jsonObjects(await bufCurl('-d', JSON.stringify(item), `${base}/fixtures.rich.Catalogue/Get`))).toEqual([item]);
  });

  it('proto2: required fields, packed fields, enums, groups', async () => {
    expect(jsonObjects(await bufCurl('-d', '{"name": "x"}', `${base}/fixtures.ext.Extended/Echo`))).toEqual([
      { id: 3, packedValues: [1, 2], kind: 'FIRST', extra: { note: 'n' } },
    ]);
  });
});
