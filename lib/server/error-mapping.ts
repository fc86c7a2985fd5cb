/**
 * How a handler's failure becomes a gRPC status: a GrpcError as is, a domain error through a
 * registered handler, anything else UNKNOWN with a generic message.
 */
import { encodeDebugInfo } from '../protocol/error-details.js';
import { GrpcError } from '../protocol/grpc-error.js';
import { Status } from '../protocol/status.js';

/** Turns one kind of domain error into the GrpcError the client should see; undefined leaves the error to the next handler (or UNKNOWN). */
export type ErrorHandler<E> = (error: E) => GrpcError | undefined;

/** The message a client sees for an unexpected error; the error's own text is never sent. */
export const UNEXPECTED_ERROR_MESSAGE = 'Unexpected error in the method handler';

/**
 * Maps thrown values to GrpcErrors. Handlers registered for an error class apply to it and its
 * subclasses, the most recently registered matching class first. With `includeErrorDetails`,
 * UNKNOWN errors carry a google.rpc.DebugInfo with the stack and message (never by default).
 */
export class ErrorMapper {
  private readonly handlers: Array<[abstract new (...args: any[]) => unknown, ErrorHandler<any>]> = [];

  constructor(private readonly includeErrorDetails = false) {}

  /** Registers a mapping for errors of `errorClass`. */
  register<E>(errorClass: abstract new (...args: any[]) => E, handler: ErrorHandler<E>): void {
    this.handlers.unshift([errorClass, handler]);
  }

  /** The GrpcError to answer with for a thrown value. A handler that throws is itself treated as an unexpected error. */
  toGrpcError(error: unknown): GrpcError {
    if (error instanceof GrpcError) return error;
    for (const [errorClass, handler] of this.handlers) {
      if (!(error instanceof errorClass)) continue;
      try {
        const mapped = handler(error);
        if (mapped instanceof GrpcError) return mapped;
      } catch (handlerError) {
        return this.unexpected(handlerError);
      }
    }
    return this.unexpected(error);
  }

  private unexpected(error: unknown): GrpcError {
    if (!this.includeErrorDetails) return new GrpcError(Status.UNKNOWN, UNEXPECTED_ERROR_MESSAGE);
    const stack = error instanceof Error && error.stack !== undefined ? error.stack.split('\n') : [];
    const detail = error instanceof Error ? error.message : String(error);
    return new GrpcError(Status.UNKNOWN, UNEXPECTED_ERROR_MESSAGE, [encodeDebugInfo({ stackEntries: stack, detail })]);
  }
}
