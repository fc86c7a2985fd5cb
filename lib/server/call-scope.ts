/**
 * The incoming call's context, reachable anywhere in the handler's asynchronous scope (through
 * AsyncLocalStorage): what lets an outgoing call made while serving one inherit its deadline,
 * metadata and cancellation.
 *
 * On Node 20 an AsyncLocalStorage in use hooks every promise the process creates, which costs a
 * server 5–10 % of its CPU per call (more on the Nest path, which makes many promises). So the
 * server keeps the scope only once something can read it: a GrpcClient or GrpcClientProxy that
 * propagates, a call to `currentCallContext()`, `runInCallScope()` or `enableCallScope()`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { GrpcContext } from './grpc-context.js';

const storage = new AsyncLocalStorage<GrpcContext>();
let enabled = false;

/**
 * Makes every call the servers of this process start from now on run in its call scope. A
 * GrpcClient or GrpcClientProxy that propagates (the default) calls it when constructed; call it
 * at startup if handlers use `currentCallContext()` and the process creates no such client.
 */
export function enableCallScope(): void {
  enabled = true;
}

/** Runs `fn(...args)` with `context` as the current call; everything it starts, synchronously or not, sees it. */
export function runInCallScope<A extends unknown[], T>(context: GrpcContext, fn: (...args: A) => T, ...args: A): T {
  enabled = true;
  return storage.run(context, fn, ...args);
}

/** How the server runs a handler: in the call scope once it is enabled, plainly before. */
export function serveInCallScope<A extends unknown[], T>(context: GrpcContext, fn: (...args: A) => T, ...args: A): T {
  return enabled ? storage.run(context, fn, ...args) : fn(...args);
}

/**
 * The context of the gRPC call being served in the current asynchronous scope, or undefined
 * outside one. The first call enables the call scope if nothing had (see `enableCallScope`);
 * calls that started before that have none, and a warning says so once.
 */
export function currentCallContext(): GrpcContext | undefined {
  if (!enabled) {
    enabled = true;
    process.emitWarning(
      'currentCallContext() was called before the call scope was enabled: calls started from now on have it, earlier ones do not. Call enableCallScope() at startup.',
      { code: 'GRPC_CALL_SCOPE_LATE' },
    );
  }
  return storage.getStore();
}
