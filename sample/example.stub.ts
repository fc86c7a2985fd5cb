/** The stub of the seed's example service, read from protos/example.proto. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadStub } from '../lib/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** protos/example.proto, seen from sample/ or from its compiled copy in dist/sample/. */
const protoFile = [path.resolve(here, '../protos/example.proto'), path.resolve(here, '../../protos/example.proto')].find((file) => existsSync(file));

/** The `nameko.example` service. */
export const exampleStub = loadStub(protoFile ?? 'protos/example.proto', 'nameko.example');

/** The request message of every example RPC. */
export interface ExampleRequest {
  value: string;
  multiplier: number;
}

/** The reply message of every example RPC. */
export interface ExampleReply {
  message: string;
  seqno: number;
}
