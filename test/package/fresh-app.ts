/**
 * The files of a Nest app written from scratch against the published package, as a user starts
 * one: ESM (`"type": "module"`), `nodenext` resolution, both entry points imported by name, the
 * example proto read from the installed package, stubs made by the package's own `generate`
 * command (which imports `nestjs-grpc-transport/core` by default). Its `main.ts` serves the
 * example service with GrpcTransport on port 0, calls it with GrpcClient and prints the outcome
 * as one JSON line.
 */

/** What the app's main.ts prints. */
export interface FreshAppOutput {
  version: string;
  reply: { message: string; seqno: number };
  unimplemented: string;
}

/** The app's package.json: the packed tarball, the Nest peers and @types/node at the given versions. */
export function freshAppPackageJson(tarball: string, versions: Record<string, string>): string {
  const dependencies: Record<string, string> = { 'nestjs-grpc-transport': `file:${tarball}` };
  for (const [name, version] of Object.entries(versions)) dependencies[name] = version;
  return JSON.stringify({ name: 'fresh-app', private: true, type: 'module', dependencies }, null, 2);
}

/** The app's tsconfig.json; `skipLibCheck: false`, so the package's declarations are checked too. */
export const FRESH_APP_TSCONFIG = JSON.stringify(
  {
    compilerOptions: {
      target: 'ES2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      skipLibCheck: false,
      types: ['node'],
      outDir: 'dist',
      rootDir: 'src',
    },
    include: ['src'],
  },
  null,
  2,
);

/** The app's src/main.ts. */
export const FRESH_APP_MAIN = `import 'reflect-metadata';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GrpcError, GrpcImplementing, GrpcMethod, GrpcTransport, type GrpcContext } from 'nestjs-grpc-transport';
import { GrpcClient, Status, VERSION } from 'nestjs-grpc-transport/core';
import { type ExampleReply, type ExampleRequest, exampleStub } from './generated/nameko.js';

const packageRoot = dirname(createRequire(import.meta.url).resolve('nestjs-grpc-transport/package.json'));

@Controller()
@GrpcImplementing('nameko.example')
class ExampleController {
  @GrpcMethod()
  unary_unary(request: ExampleRequest, context: GrpcContext): ExampleReply {
    return { message: \`\${request.value.repeat(request.multiplier)} \${context.metadata.first('x-from')}\`, seqno: 1 };
  }
}

@Module({ controllers: [ExampleController] })
class AppModule {}

const transport = new GrpcTransport({ url: '127.0.0.1:0', protos: [join(packageRoot, 'protos/example.proto')] });
const app = await NestFactory.createMicroservice(AppModule, { strategy: transport, logger: false });
await app.listen();
const client = new GrpcClient(\`127.0.0.1:\${transport.port}\`, exampleStub);
try {
  const reply = await client.unary_unary({ value: 'ab', multiplier: 2 }, { timeout: 10_000, metadata: { 'x-from': 'fresh-app' } });
  // GrpcError from the root entry is the class the client (from /core) rejects with: one copy of the code.
  const unimplemented = await client.stream_unary([{ value: 'x', multiplier: 1 }], { timeout: 10_000 }).then(
    () => 'resolved',
    (error: unknown) => (error instanceof GrpcError && error.code === Status.UNIMPLEMENTED ? 'UNIMPLEMENTED' : String(error)),
  );
  console.log(JSON.stringify({ version: VERSION, reply, unimplemented }));
} finally {
  client.close();
  await app.close();
}
`;
