/** Awaiting a call that must fail, and reading the `grpc-timeout` a client sent. */
import { GrpcError } from '../../lib/index.js';

/** Awaits a call's failure and returns it with the time it took; fails the test if the call succeeds or rejects with anything but a GrpcError. */
export async function timedFailure(run: () => Promise<unknown>): Promise<{ error: GrpcError; elapsed: number }> {
  const started = performance.now();
  const error = await run().then(
    () => {
      throw new Error('the call succeeded');
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(GrpcError);
  return { error: error as GrpcError, elapsed: performance.now() - started };
}

/** The GrpcError a call fails with. */
export async function failure(promise: Promise<unknown>): Promise<GrpcError> {
  return (await timedFailure(() => promise)).error;
}

/** Milliseconds in a `grpc-timeout` header value (`"250m"` is 250). */
export function grpcTimeoutMs(value: unknown): number {
  const match = /^(\d{1,8})([HMSmun])$/.exec(String(value));
  if (match === null) throw new Error(`Malformed grpc-timeout ${String(value)}`);
  return Number(match[1]) * { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 }[match[2] as 'H'];
}
