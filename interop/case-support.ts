/**
 * What every implementation of the interop client cases shares, whichever gRPC client library
 * runs them: the case names, the sizes and values the test descriptions fix, the checks (which
 * throw InteropFailure with the reason), the soak loop and a request queue for
 * interactive streams.
 */

/** Every case, in the order `all` runs them. */
export const CASE_NAMES = [
  'empty_unary',
  'large_unary',
  'client_compressed_unary',
  'server_compressed_unary',
  'client_streaming',
  'client_compressed_streaming',
  'server_streaming',
  'server_compressed_streaming',
  'ping_pong',
  'empty_stream',
  'custom_metadata',
  'status_code_and_message',
  'special_status_message',
  'unimplemented_method',
  'unimplemented_service',
  'cancel_after_begin',
  'cancel_after_first_response',
  'timeout_on_sleeping_server',
  'rpc_soak',
  'channel_soak',
] as const;

/** The name of one case. */
export type CaseName = (typeof CASE_NAMES)[number];

/** Whether `name` is a case (not `all`). */
export function isCaseName(name: string): name is CaseName {
  return (CASE_NAMES as readonly string[]).includes(name);
}

/** Request payload of the unary cases, in bytes. */
export const LARGE_REQUEST_SIZE = 271828;
/** Response payload asked for by the unary cases, in bytes. */
export const LARGE_RESPONSE_SIZE = 314159;
/** Request payloads of client_streaming (they add up to 74922). */
export const STREAMING_REQUEST_SIZES = [27182, 8, 1828, 45904] as const;
/** Response payloads of server_streaming and ping_pong. */
export const STREAMING_RESPONSE_SIZES = [31415, 9, 2653, 58979] as const;
/** The two responses of server_compressed_streaming: compressed, then not. */
export const COMPRESSED_STREAMING_RESPONSES = [
  { size: 31415, compressed: true },
  { size: 92653, compressed: false },
] as const;
/** The two request payloads of client_compressed_streaming (they add up to 73086). */
export const COMPRESSED_STREAMING_REQUEST_SIZES = [27182, 45904] as const;

/** The request metadata key whose values the server returns as initial metadata. */
export const ECHO_INITIAL_KEY = 'x-grpc-test-echo-initial';
/** The request metadata key whose values the server returns as trailing metadata. */
export const ECHO_TRAILING_KEY = 'x-grpc-test-echo-trailing-bin';
/** The initial-metadata value of custom_metadata. */
export const ECHO_INITIAL_VALUE = 'test_initial_metadata_value';
/** The binary trailing-metadata value of custom_metadata. */
export const ECHO_TRAILING_VALUE = Buffer.from([0xab, 0xab, 0xab]);
/** The status of status_code_and_message. */
export const ECHO_STATUS = { code: 2, message: 'test status message' } as const;
/** The status of special_status_message: whitespace, a BMP and a non-BMP character. */
export const SPECIAL_STATUS = { code: 2, message: '\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n' } as const;

/** gRPC status codes the cases check for. */
export const CODE = { OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, UNIMPLEMENTED: 12 } as const;

/** The soak cases' settings (the flags of the same names in the gRPC interop clients). */
export interface SoakOptions {
  /** Calls to make (default 10). */
  iterations: number;
  /** Failed or too slow calls tolerated (default 0). */
  maxFailures: number;
  /** A call slower than this counts as failed (default 1000 ms). */
  perIterationMaxAcceptableLatencyMs: number;
  /** The whole case must finish within this (default 10 s). */
  overallTimeoutSeconds: number;
  /** The least time from one call's start to the next (default 0). */
  minTimeMsBetweenRpcs: number;
}

/** The soak defaults, as in the other gRPC interop clients. */
export const DEFAULT_SOAK: SoakOptions = {
  iterations: 10,
  maxFailures: 0,
  perIterationMaxAcceptableLatencyMs: 1000,
  overallTimeoutSeconds: 10,
  minTimeMsBetweenRpcs: 0,
};

/** Settings every case implementation takes. */
export interface CaseOptions {
  /**
   * Whether server_compressed_unary and server_compressed_streaming check each response's
   * compressed flag (default true). Turn off against servers without response compression
   * (@grpc/grpc-js); clients that cannot see the flag never check it.
   */
  checkResponseCompression: boolean;
  soak: SoakOptions;
}

/** The default case options. */
export const DEFAULT_CASE_OPTIONS: CaseOptions = { checkResponseCompression: true, soak: DEFAULT_SOAK };

/** A case did not get what the test description requires; the message says what differed. */
export class InteropFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InteropFailure';
  }
}

/** Fails with `message` unless `condition` holds. */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InteropFailure(message);
}

/** Fails unless `actual === expected`, naming `what`. */
export function checkEqual<T>(actual: T, expected: T, what: string): void {
  check(actual === expected, `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/** Fails unless `body` is `size` zero bytes, naming `what`. */
export function checkZeros(body: Uint8Array | null | undefined, size: number, what: string): void {
  const length = body?.length ?? 0;
  check(length === size, `${what}: expected a payload of ${size} bytes, got ${length}`);
  if (body !== null && body !== undefined) check(body.every((byte) => byte === 0), `${what}: the payload is not all zeros`);
}

/** Fails unless a call ended with `code` (and `message`, when given), naming `what`. */
export function checkStatus(actual: { code: number; message: string }, code: number, what: string, message?: string): void {
  const text = actual.message;
  check(actual.code === code, `${what}: expected status ${code}, got ${actual.code} (${JSON.stringify(text)})`);
  if (message !== undefined) check(text === message, `${what}: expected status message ${JSON.stringify(message)}, got ${JSON.stringify(text)}`);
}

/** `size` zero bytes. */
export function zeros(size: number): Buffer {
  return Buffer.alloc(size);
}

/**
 * Runs `call` `options.iterations` times in sequence, as rpc_soak and channel_soak do. An
 * iteration fails when `call` throws or takes longer than the per-iteration limit; the case fails
 * when more than `maxFailures` iterations failed, or when the overall timeout cut it short.
 */
export async function soak(options: SoakOptions, call: (iteration: number) => Promise<void>): Promise<void> {
  const started = Date.now();
  const deadline = started + options.overallTimeoutSeconds * 1000;
  const failures: string[] = [];
  let done = 0;
  for (let i = 0; i < options.iterations; i++) {
    if (Date.now() >= deadline) break;
    const start = Date.now();
    try {
      await call(i);
      const latency = Date.now() - start;
      if (latency > options.perIterationMaxAcceptableLatencyMs) {
        failures.push(`iteration ${i} took ${latency} ms (limit ${options.perIterationMaxAcceptableLatencyMs} ms)`);
      }
    } catch (error) {
      failures.push(`iteration ${i} failed: ${(error as Error)?.message ?? String(error)}`);
    }
    done++;
    const wait = start + options.minTimeMsBetweenRpcs - Date.now();
    if (wait > 0 && i + 1 < options.iterations) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  check(
    done === options.iterations,
    `only ${done} of ${options.iterations} iterations ran within the overall timeout of ${options.overallTimeoutSeconds} s`,
  );
  check(
    failures.length <= options.maxFailures,
    `${failures.length} of ${options.iterations} iterations failed (at most ${options.maxFailures} allowed): ${failures.slice(0, 5).join('; ')}`,
  );
}

/**
 * A request stream fed by hand, for cases that send a message only after a reply arrived
 * (ping_pong) or never finish sending (cancel and timeout cases). One consumer.
 */
export class RequestQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private ended = false;
  private waiter: ((result: IteratorResult<T>) => void) | undefined;

  /** Sends one message. */
  push(item: T): void {
    if (this.ended) return;
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter !== undefined) waiter({ value: item, done: false });
    else this.items.push(item);
  }

  /** Half-closes: the stream ends after the messages already pushed. */
  end(): void {
    this.ended = true;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length > 0) return Promise.resolve({ value: this.items.shift() as T, done: false });
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.waiter = resolve));
      },
      return: () => {
        this.ended = true;
        this.items = [];
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

/** Rejects with InteropFailure after `ms` unless `work` settles first; the timer never outlives the race. */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new InteropFailure(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
