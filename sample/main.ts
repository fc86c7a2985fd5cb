/**
 * `npm run sample`: starts the example Nest microservice on a free port, calls its four RPCs
 * with the standalone client, prints the replies and the server's health, and exits.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { GrpcClient, healthStub } from '../lib/index.js';
import { AppModule } from './app.module.js';
import { callExample } from './client.js';
import { sampleTransport } from './transport.js';

const transport = sampleTransport('127.0.0.1:0');
const app = await NestFactory.createMicroservice(AppModule, { strategy: transport });
await app.listen();
try {
  const results = await callExample(`127.0.0.1:${transport.port}`);
  for (const [rpc, reply] of Object.entries(results)) console.log(`${rpc}: ${JSON.stringify(reply)}`);
  await using health = new GrpcClient(`127.0.0.1:${transport.port}`, healthStub());
  console.log(`health: ${(await health.Check({ service: '' })).status}`);
} finally {
  await app.close();
}
