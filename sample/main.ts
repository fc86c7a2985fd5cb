/**
 * `npm run sample`: starts the example Nest microservice on a free port, calls its four RPCs
 * with the standalone client, prints the replies and exits.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { GrpcTransport } from '../lib/index.js';
import { AppModule } from './app.module.js';
import { callExample } from './client.js';

const transport = new GrpcTransport({ url: '127.0.0.1:0' });
const app = await NestFactory.createMicroservice(AppModule, { strategy: transport });
await app.listen();
try {
  const results = await callExample(`127.0.0.1:${transport.port}`);
  for (const [rpc, reply] of Object.entries(results)) console.log(`${rpc}: ${JSON.stringify(reply)}`);
} finally {
  await app.close();
}
