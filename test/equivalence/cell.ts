/**
 * One cell of the equivalence matrix (a server kind × a client kind) as its cases see it, and
 * the helpers the cases share: the four call patterns behind one function, call tags, and the
 * server's reports of cancelled calls.
 */
import type { CallOptions, CallResult, ClientAdapter, ClientKind, ServerKind } from './adapters.js';
import type { Request, ServerHooks } from './matrix-service.js';

/** The running pair a case runs against; read inside tests (they are set in beforeAll). */
export interface Cell {
  readonly serverKind: ServerKind;
  readonly clientKind: ClientKind;
  /** The server's port. */
  readonly port: number;
  /** The cell's shared client, made without options. */
  readonly client: ClientAdapter;
  /** What the server reported. */
  readonly reports: ServerReports;
}

/** The server's reports, awaitable by tag whether they came before or after the test asks. */
export class ServerReports implements ServerHooks {
  private readonly waiting = new Map<string, { promise: Promise<void>; resolve: () => void }>();

  private entry(tag: string) {
    let entry = this.waiting.get(tag);
    if (entry === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => (resolve = done));
      entry = { promise, resolve };
      this.waiting.set(tag, entry);
    }
    return entry;
  }

  private readonly ended = new Set<string>();

  cancelled(tag: string): void {
    this.entry(tag).resolve();
  }

  requestsEnded(tag: string): void {
    this.ended.add(tag);
  }

  /** Whether the handler of the call tagged `tag` saw its request stream end. */
  sawRequestsEnd(tag: string): boolean {
    return this.ended.has(tag);
  }

  /** Resolves once the handler of the call tagged `tag` observed its cancellation. */
  whenCancelled(tag: string): Promise<void> {
    return this.entry(tag).promise;
  }
}

let tags = 0;

/** A tag no other call has. */
export function newTag(): string {
  return `call-${++tags}`;
}

/** The four call patterns. */
export const PATTERNS = ['unary', 'serverStream', 'clientStream', 'bidi'] as const;
export type Pattern = (typeof PATTERNS)[number];

/** Calls `pattern` with `requests` (the unary-request patterns send the first one only). */
export function run(client: ClientAdapter, pattern: Pattern, requests: Request[], options?: CallOptions): Promise<CallResult> {
  switch (pattern) {
    case 'unary':
      return client.unary(requests[0], options);
    case 'serverStream':
      return client.serverStream(requests[0], options);
    case 'clientStream':
      return client.clientStream(requests, options);
    case 'bidi':
      return client.bidi(requests, options);
  }
}

/**
 * `it`, or `it.skip` with the reason in the test's name when the reference implementation in
 * the cell lacks the feature (`available` is `true` or `{ lacking: reason }`, or a list of them
 * that must all be `true`).
 */
export function itWhere(available: true | { lacking: string } | Array<true | { lacking: string }>, name: string, fn: () => Promise<void>): void {
  const lacking = [available].flat().find((each) => each !== true);
  if (lacking === undefined) it(name, fn);
  else it.skip(`${name} — skipped: ${lacking.lacking}`, fn);
}
