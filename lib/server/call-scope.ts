/**
 * The incoming call's context, reachable anywhere in the handler's asynchronous scope (through
 * AsyncLocalStorage): what lets an outgoing call made while serving one inherit its deadline,
 * metadata and cancellation.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { GrpcContext } from './grpc-context.js';

const storage = new AsyncLocalStorage<GrpcContext>();

/** Runs `fn(...args)` with `context` as the current call; everything it starts, synchronously or not, sees it. */
export function runInCallScope<A extends unknown[], T>(context: GrpcContext, fn: (...args: A) => T, ...args: A): T {
  return storage.run(context, fn, ...args);
}

/** The context of the gRPC call being served in the current asynchronous scope, or undefined outside one. */
export function currentCallContext(): GrpcContext | undefined {
  return storage.getStore();
}
