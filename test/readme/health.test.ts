/** Runs README's health examples (sample/readme/health.ts, nest-health.ts) on port 0. */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { GrpcClient, type GrpcServer, healthStub } from '../../lib/index.js';
import { checkHealth, serveWithHealth } from '../../sample/readme/health.js';
import { bootstrap, DatabaseHealth } from '../../sample/readme/nest-health.js';

describe('README: health checking', () => {
  it('the client example reads the statuses the server example set', async () => {
    const server = await serveWithHealth('127.0.0.1:0');
    try {
      await expect(checkHealth(`127.0.0.1:${server.port}`)).resolves.toEqual({ server: 'SERVING', example: 'NOT_SERVING' });
    } finally {
      await server.shutdown();
    }
  });

  it('DatabaseHealth changes what the Nest app reports for example.Database', async () => {
    Logger.overrideLogger(false);
    const app = await bootstrap('127.0.0.1:0');
    const health = new GrpcClient(`127.0.0.1:${app.unwrap<GrpcServer>().port}`, healthStub());
    try {
      const database = app.get(DatabaseHealth);
      database.onDisconnect();
      await expect(health.Check({ service: 'example.Database' })).resolves.toEqual({ status: 'NOT_SERVING' });
      database.onReconnect();
      await expect(health.Check({ service: 'example.Database' })).resolves.toEqual({ status: 'SERVING' });
      await expect(health.Check({ service: '' })).resolves.toEqual({ status: 'SERVING' });
    } finally {
      health.close();
      await app.close();
    }
  });
});
