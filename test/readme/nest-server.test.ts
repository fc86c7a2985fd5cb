/** Runs README's "A Nest server" (sample/readme/nest-server.ts) on port 0 and calls its four RPCs. */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { from, lastValueFrom, toArray } from 'rxjs';
import { GrpcClient, type GrpcServer } from '../../lib/index.js';
import { bootstrap } from '../../sample/readme/nest-server.js';
import { exampleStub } from '../../sample/generated/nameko.js';

describe('README: a Nest server', () => {
  it('serves the four call patterns as the example says', async () => {
    Logger.overrideLogger(false);
    const app = await bootstrap('127.0.0.1:0');
    const client = new GrpcClient(`127.0.0.1:${app.unwrap<GrpcServer>().port}`, exampleStub);
    try {
      await expect(client.unary_unary({ value: 'ab', multiplier: 2 }, { metadata: { 'x-caller': 'readme' } })).resolves.toEqual({ message: 'abab for readme', seqno: 0 });
      await expect(client.unary_unary({ value: 'a' })).resolves.toEqual({ message: 'a for anonymous', seqno: 0 });
      await expect(lastValueFrom(client.unary_stream({ value: 'x' }).pipe(toArray()))).resolves.toEqual([
        { message: 'x', seqno: 1 },
        { message: 'x', seqno: 2 },
        { message: 'x', seqno: 3 },
      ]);
      await expect(client.stream_unary([{ value: 'a' }, { value: 'b' }])).resolves.toEqual({ message: 'a,b', seqno: 2 });
      await expect(lastValueFrom(client.stream_stream(from([{ value: 'a' }, { value: 'b' }])).pipe(toArray()))).resolves.toEqual([
        { message: 'a', seqno: 1 },
        { message: 'b', seqno: 2 },
      ]);
    } finally {
      client.close();
      await app.close();
    }
  });
});
