/**
 * Test helpers for the Nest e2e tests: boot a real Nest microservice with GrpcTransport on
 * 127.0.0.1:0, and make a @grpc/grpc-js client and our GrpcClient for it.
 */
import 'reflect-metadata';
import * as grpc from '@grpc/grpc-js';
import type { INestMicroservice, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GrpcClient, GrpcError, GrpcTransport, type GrpcTransportOptions } from '../../lib/index.js';
import { exampleStub } from './example-service.js';
import { exampleGrpcJsClient } from './grpc-js.js';
import type { ExampleClient } from './harness.js';

/** A running Nest microservice with a client of each kind. */
export interface NestGrpcApp {
  app: INestMicroservice;
  transport: GrpcTransport;
  port: number;
  /** A @grpc/grpc-js client of nameko.example, on its own connection. */
  grpcJs: ExampleClient;
  /** Our GrpcClient of nameko.example. */
  ours: GrpcClient<typeof exampleStub>;
  /** Closes both clients and the app. */
  close(): Promise<void>;
}

/** Options of `startNestApp`. */
export interface StartOptions {
  transport?: GrpcTransportOptions;
  /** Nest's `logger` option (default false: quiet). */
  logger?: LoggerService | false;
  /** Runs on the app before `listen` (global enhancers, shutdown hooks). */
  configure?: (app: INestMicroservice) => void;
}

/** Boots `module` as a Nest microservice served by GrpcTransport on 127.0.0.1:0 and connects both clients. */
export async function startNestApp(module: unknown, options: StartOptions = {}): Promise<NestGrpcApp> {
  const transport = new GrpcTransport({ url: '127.0.0.1:0', ...options.transport });
  const app = await NestFactory.createMicroservice(module as never, { strategy: transport, logger: options.logger ?? false });
  options.configure?.(app);
  await app.listen();
  const port = transport.port!;
  const grpcJs = exampleGrpcJsClient(port, { 'grpc.use_local_subchannel_pool': 1 });
  const ours = new GrpcClient(`127.0.0.1:${port}`, exampleStub);
  return {
    app,
    transport,
    port,
    grpcJs,
    ours,
    async close() {
      grpcJs.close();
      ours.close();
      await app.close();
    },
  };
}

/** The GrpcError a promise rejects with; fails if it resolves or rejects with something else. */
export async function rejection(promise: Promise<unknown>): Promise<GrpcError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GrpcError) return error;
    throw new Error(`Expected a GrpcError, got ${String(error)}`);
  }
  throw new Error('Expected the call to fail');
}

/** The ServiceError a grpc-js promise rejects with; fails if it resolves. */
export async function grpcJsRejection(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error('Expected the call to fail');
}

/** A LoggerService that records every line, for asserting what Nest and the transport log. */
export class RecordingLogger implements LoggerService {
  readonly lines: Array<{ level: string; message: string; context?: string }> = [];

  private record(level: string, message: unknown, rest: unknown[]): void {
    const context = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    this.lines.push({ level, message: message instanceof Error ? (message.stack ?? message.message) : String(message), context });
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.record('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.record('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.record('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.record('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.record('verbose', message, rest);
  }

  /** Every recorded message, one per line. */
  text(): string {
    return this.lines.map((line) => line.message).join('\n');
  }
}
