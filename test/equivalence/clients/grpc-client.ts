/** Our standalone GrpcClient as a matrix client (observable style). */
import { type Encoding, GrpcClient } from '../../../lib/index.js';
import type { ClientAdapter, ClientKind } from '../adapters.js';
import { matrixStub, unservedStub } from '../matrix-service.js';
import { OurClientAdapter } from './our-client-adapter.js';

/** `new GrpcClient(target, stub, { compression })`. */
export const grpcClientKind: ClientKind = {
  name: 'GrpcClient',
  perCallCompression: true,
  cancelsWithoutHalfClose: true,
  async create(port: number, options: { compression?: Encoding } = {}): Promise<ClientAdapter> {
    const matrix = new GrpcClient(`127.0.0.1:${port}`, matrixStub, { compression: options.compression });
    const unserved = new GrpcClient(`127.0.0.1:${port}`, unservedStub);
    return new OurClientAdapter(matrix, unserved, 'observable', async () => {
      matrix.close();
      unserved.close();
    });
  },
};
