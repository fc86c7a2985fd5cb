/**
 * The equivalence matrix: one suite of identical assertions run for every pair of
 * {@grpc/grpc-js server, our GrpcServer, our Nest GrpcTransport} ×
 * {@grpc/grpc-js client, our GrpcClient, our Nest client (GrpcClientModule.forFeature)}.
 * Each server kind is started once; each cell makes one shared client (and, for compression,
 * clients through a byte-counting proxy). A case is skipped only where the reference lacks the
 * feature, with the reason in its name.
 */
import type { ClientAdapter, ClientKind, ServerAdapter, ServerKind } from './adapters.js';
import { compressionCases } from './cases/compression.js';
import { deadlineCases } from './cases/deadlines.js';
import { errorCases } from './cases/errors.js';
import { limitCases } from './cases/limits.js';
import { metadataCases } from './cases/metadata.js';
import { patternCases } from './cases/patterns.js';
import { type Cell, ServerReports } from './cell.js';
import { grpcClientKind } from './clients/grpc-client.js';
import { grpcJsClientKind } from './clients/grpc-js-client.js';
import { nestClientKind } from './clients/nest-client.js';
import { grpcServerKind } from './servers/grpc-server.js';
import { grpcJsServerKind } from './servers/grpc-js-server.js';
import { nestServerKind } from './servers/nest-server.js';

const SERVER_KINDS: ServerKind[] = [grpcJsServerKind, grpcServerKind, nestServerKind];
const CLIENT_KINDS: ClientKind[] = [grpcJsClientKind, grpcClientKind, nestClientKind];

for (const serverKind of SERVER_KINDS) {
  describe(serverKind.name, () => {
    const reports = new ServerReports();
    let server: ServerAdapter | undefined;

    beforeAll(async () => {
      server = await serverKind.start(reports);
    });

    afterAll(async () => {
      await server?.stop();
    });

    for (const clientKind of CLIENT_KINDS) {
      describe(`× ${clientKind.name}`, () => {
        let client: ClientAdapter | undefined;

        beforeAll(async () => {
          client = await clientKind.create(server!.port);
        });

        afterAll(async () => {
          await client?.close();
        });

        const cell: Cell = {
          serverKind,
          clientKind,
          reports,
          get port() {
            return server!.port;
          },
          get client() {
            return client!;
          },
        };
        patternCases(cell);
        metadataCases(cell);
        compressionCases(cell);
        errorCases(cell);
        deadlineCases(cell);
        limitCases(cell);
      });
    }
  });
}
