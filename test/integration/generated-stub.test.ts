import { lastValueFrom, of, toArray } from 'rxjs';
import { GrpcClient, GrpcServer, type MessageStream } from '../../lib/index.js';
import { CatalogueStub, type Item } from '../fixtures/generated/fixtures.rich.js';
import { exampleStub } from '../../sample/generated/nameko.js';

const item = {
  id: '9007199254740993',
  payload: Buffer.from([0, 1, 2]),
  labels: [{ text: 'a', colour: 'GREEN' as const }],
  counts: { x: 3 },
  url: 'https://example.com',
  big: '18446744073709551615',
};

describe('generated stubs', () => {
  let server: GrpcServer;
  let client: GrpcClient<typeof CatalogueStub>;

  beforeAll(async () => {
    server = new GrpcServer();
    server.addService(CatalogueStub, {
      Get: (request: Item): Item => request,
      List: () => of(item),
      Upload: async (requests: MessageStream<Item>) => ({ items: await lastValueFrom(requests.pipe(toArray())) }),
      Sync: (requests: MessageStream<Item>) => requests,
    });
    client = new GrpcClient(`127.0.0.1:${await server.listen('127.0.0.1:0')}`, CatalogueStub);
  });

  afterAll(async () => {
    client.close();
    await server.shutdown();
  });

  it('round-trip 64-bit integers as strings, bytes as Buffers, enums by name, maps and oneofs', async () => {
    const reply = await client.Get(item);
    expect(reply).toMatchObject({ ...item, source: 'url', created: null });
    expect(Buffer.isBuffer(reply.payload)).toBe(true);
  });

  it('type each RPC by its pattern', async () => {
    const listed: Item[] = await lastValueFrom(client.list({}).pipe(toArray()));
    expect(listed).toHaveLength(1);
    const uploaded = await client.Upload([item, item]);
    expect(uploaded.items).toHaveLength(2);
    const synced: Item[] = await lastValueFrom(client.sync(of({ id: '1' })).pipe(toArray()));
    expect(synced[0].id).toBe('1');
  });

  it('refuse requests of the wrong type at compile time', () => {
    // Each line below would be a type error without @ts-expect-error; tsc --noEmit checks that they are.
    const wrongCalls = () => {
      // @ts-expect-error value must be a string
      void client.Get({ id: 42 });
      // @ts-expect-error a unary response is a Promise, not an Observable
      client.Get(item).subscribe();
      // @ts-expect-error a server stream is not a Promise
      void client.List({}).then(() => undefined);
      const example = new GrpcClient('127.0.0.1:1', exampleStub);
      // @ts-expect-error multiplier is a number
      void example.unary_unary({ value: 'A', multiplier: 'two' });
      example.close();
    };
    expect(typeof wrongCalls).toBe('function');
  });
});
