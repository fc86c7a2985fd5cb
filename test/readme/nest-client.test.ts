/** Runs README's "A Nest client" (sample/readme/nest-client.ts) against a GrpcServer on port 0. */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { GrpcServer, type GrpcContext } from '../../lib/index.js';
import { exampleStub, type ExampleRequest } from '../../sample/generated/nameko.js';

describe('README: a Nest client', () => {
  it('Greeter calls the server named by EXAMPLE_URL', async () => {
    const server = new GrpcServer();
    server.addService(exampleStub, {
      unary_unary: (request: ExampleRequest, context: GrpcContext) => ({ message: request.value.repeat(request.multiplier), seqno: Number.isFinite(context.timeRemaining) ? 1 : 0 }),
    });
    const port = await server.listen('127.0.0.1:0');
    process.env.EXAMPLE_URL = `127.0.0.1:${port}`;
    // Imported now: the module reads EXAMPLE_URL as its decorators run.
    const { Greeter, GreeterModule } = await import('../../sample/readme/nest-client.js');
    const app = await NestFactory.createApplicationContext(GreeterModule, { logger: false });
    try {
      await expect(app.get(Greeter).greet('hi')).resolves.toEqual({ message: 'hihi', seqno: 1 }); // seqno 1: the 500 ms timeout arrived as a deadline
    } finally {
      await app.close();
      delete process.env.EXAMPLE_URL;
      await server.shutdown();
    }
  });
});
