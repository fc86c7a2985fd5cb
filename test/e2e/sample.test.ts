import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { GrpcTransport } from '../../lib/index.js';
import { AppModule } from '../../sample/app.module.js';
import { callExample } from '../../sample/client.js';

describe('the sample app', () => {
  it('answers the four example calls as nameko-grpc does', async () => {
    const transport = new GrpcTransport({ url: '127.0.0.1:0' });
    const app = await NestFactory.createMicroservice(AppModule, { strategy: transport, logger: false });
    await app.listen();
    try {
      await expect(callExample(`127.0.0.1:${transport.port}`)).resolves.toEqual({
        unary_unary: { message: 'AAA', seqno: 0 },
        unary_stream: [
          { message: 'BB', seqno: 1 },
          { message: 'BB', seqno: 2 },
        ],
        stream_unary: { message: 'A,BB,CCC', seqno: 0 },
        stream_stream: [
          { message: 'A', seqno: 1 },
          { message: 'BB', seqno: 2 },
          { message: 'CCC', seqno: 3 },
        ],
      });
    } finally {
      await app.close();
    }
  });
});
