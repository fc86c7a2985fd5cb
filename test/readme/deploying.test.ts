/** Runs README's Kubernetes example (sample/readme/deploying.ts) on port 0. */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { GrpcClient, type GrpcServer, healthStub } from '../../lib/index.js';
import { bootstrap } from '../../sample/readme/deploying.js';
import { exampleStub } from '../../sample/readme/generated/nameko.js';

describe('README: deploying on Kubernetes', () => {
  it('app.close() turns health NOT_SERVING while calls are still served during shutdownDelayMs', async () => {
    Logger.overrideLogger(false);
    const app = await bootstrap('127.0.0.1:0');
    const server = app.unwrap<GrpcServer>();
    const target = `127.0.0.1:${server.port}`;
    await using health = new GrpcClient(target, healthStub());
    await using client = new GrpcClient(target, exampleStub);
    expect(await health.Check({ service: '' })).toEqual({ status: 'SERVING' });
    const closed = app.close();
    expect(await health.Check({ service: '' })).toEqual({ status: 'NOT_SERVING' });
    expect((await client.unary_unary({ value: 'still served', multiplier: 1 })).message).toBe('still served for anonymous');
    // The 5 s delay is not waited out here.
    server.forceShutdown();
    await closed;
  });
});
