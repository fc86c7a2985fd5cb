import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import descriptorTypes from 'protobufjs/ext/descriptor.js';
import { lastValueFrom, toArray } from 'rxjs';
import { GrpcClient, GrpcImplementing, GrpcMethod, GrpcTransport, reflectionStub } from '../../lib/index.js';

@Controller()
@GrpcImplementing('fixtures.rich.Catalogue')
class CatalogueController {
  @GrpcMethod()
  Get(item: unknown) {
    return item;
  }
}

@Module({ controllers: [CatalogueController] })
class CatalogueModule {}

describe('server reflection in a Nest app', () => {
  it('describes the services GrpcTransport loaded from `protos`, with names relative to the include folder', async () => {
    const transport = new GrpcTransport({
      url: '127.0.0.1:0',
      protos: 'rich.proto',
      loader: { includeDirs: ['test/fixtures/protos'] },
      reflection: true,
    });
    const app = await NestFactory.createMicroservice(CatalogueModule, { strategy: transport, logger: false });
    await app.listen();
    const client = new GrpcClient(`127.0.0.1:${transport.port}`, reflectionStub());
    try {
      const [list, symbol] = await lastValueFrom(
        client.ServerReflectionInfo([{ list_services: '' }, { file_containing_symbol: 'fixtures.rich.Catalogue.Get' }]).pipe(toArray()),
      );
      expect(list.list_services_response!.service.map((service) => service.name)).toEqual([
        'fixtures.rich.Catalogue',
        'grpc.reflection.v1.ServerReflection',
        'grpc.reflection.v1alpha.ServerReflection',
      ]);
      const names = symbol.file_descriptor_response!.file_descriptor_proto.map((bytes) => descriptorTypes.FileDescriptorProto.decode(bytes).toJSON().name);
      expect(names).toEqual(['rich.proto', 'google/protobuf/timestamp.proto', 'google/protobuf/empty.proto']);
    } finally {
      client.close();
      await app.close();
    }
  });
});
