import 'reflect-metadata';
import { type ArgumentsHost, Catch, Controller, type ExceptionFilter, type INestMicroservice, Module, NotFoundException } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { throwError } from 'rxjs';
import { GrpcClient, GrpcError, GrpcImplementing, GrpcMethod, GrpcTransport, Status } from '../../lib/index.js';
import { exampleStub, type ExampleRequest } from '../helpers/example-service.js';

class DomainError extends Error {}

@Catch(DomainError)
class DomainFilter implements ExceptionFilter {
  catch(exception: DomainError, host: ArgumentsHost) {
    return throwError(() => new GrpcError(Status.FAILED_PRECONDITION, `domain: ${exception.message} (${host.getType()})`));
  }
}

@Controller()
@GrpcImplementing(exampleStub)
class FailingController {
  @GrpcMethod()
  unary_unary(request: ExampleRequest): never {
    if (request.value === 'domain') throw new DomainError('rule broken');
    throw new NotFoundException('no such thing');
  }
}

@Module({ controllers: [FailingController] })
class AppModule {}

describe('global exception filters and gRPC controllers', () => {
  let app: INestMicroservice;
  let client: GrpcClient<typeof exampleStub>;

  beforeAll(async () => {
    const transport = new GrpcTransport({ url: '127.0.0.1:0' });
    app = await NestFactory.createMicroservice(AppModule, { strategy: transport, logger: false });
    app.useGlobalFilters(new DomainFilter());
    await app.listen();
    client = new GrpcClient(`127.0.0.1:${transport.port}`, exampleStub);
  });

  afterAll(async () => {
    client.close();
    await app.close();
  });

  it('a global filter matching the error answers for it', async () => {
    await expect(client.unary_unary({ value: 'domain' })).rejects.toMatchObject({
      code: Status.FAILED_PRECONDITION,
      message: 'domain: rule broken (rpc)',
    });
  });

  it('errors no global filter catches still map by the transport table', async () => {
    await expect(client.unary_unary({ value: 'other' })).rejects.toMatchObject({ code: Status.NOT_FOUND, message: 'no such thing' });
  });
});
