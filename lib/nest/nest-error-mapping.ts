/**
 * How Nest's exceptions become gRPC statuses in GrpcTransport.
 *
 * | thrown                                   | status                                   |
 * |------------------------------------------|------------------------------------------|
 * | GrpcError                                | its own code, message, details, metadata |
 * | RpcException({ code, message })          | that code and message                    |
 * | RpcException('text')                     | UNKNOWN, 'text' ('Forbidden resource' from a guard: PERMISSION_DENIED) |
 * | HttpException 400 / 401 / 403 / 404      | INVALID_ARGUMENT / UNAUTHENTICATED / PERMISSION_DENIED / NOT_FOUND |
 * | HttpException 409 / 429                  | ALREADY_EXISTS / RESOURCE_EXHAUSTED      |
 * | HttpException 501 / 503 / 504            | UNIMPLEMENTED / UNAVAILABLE / DEADLINE_EXCEEDED |
 * | HttpException other 5xx                  | INTERNAL                                 |
 * | HttpException other                      | UNKNOWN                                  |
 * | anything else                            | UNKNOWN, generic message                 |
 */
import { HttpException } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { GrpcError } from '../protocol/grpc-error.js';
import { isStatus, Status } from '../protocol/status.js';

/** The message Nest's guards throw (as an RpcException) when they deny access. */
const FORBIDDEN_MESSAGE = 'Forbidden resource';

/** The gRPC status of an HttpException's HTTP status, per the table above. */
export function statusForHttpException(httpStatus: number): Status {
  switch (httpStatus) {
    case 400:
      return Status.INVALID_ARGUMENT;
    case 401:
      return Status.UNAUTHENTICATED;
    case 403:
      return Status.PERMISSION_DENIED;
    case 404:
      return Status.NOT_FOUND;
    case 409:
      return Status.ALREADY_EXISTS;
    case 429:
      return Status.RESOURCE_EXHAUSTED;
    case 501:
      return Status.UNIMPLEMENTED;
    case 503:
      return Status.UNAVAILABLE;
    case 504:
      return Status.DEADLINE_EXCEEDED;
    default:
      return httpStatus >= 500 && httpStatus < 600 ? Status.INTERNAL : Status.UNKNOWN;
  }
}

/** An HttpException as a GrpcError; the message lists validation messages when the response carries several (ValidationPipe). */
export function fromHttpException(exception: HttpException): GrpcError {
  const response = exception.getResponse();
  const listed = typeof response === 'object' && response !== null ? (response as { message?: unknown }).message : undefined;
  const message = Array.isArray(listed) ? listed.map(String).join('; ') : typeof listed === 'string' ? listed : exception.message;
  return new GrpcError(statusForHttpException(exception.getStatus()), message);
}

/**
 * A Nest error payload — RpcException's error, or what an exception filter threw — as a
 * GrpcError: `{ code, message }` with a valid code keeps it, `'Forbidden resource'` is
 * PERMISSION_DENIED, another string is UNKNOWN with that text. Undefined for anything else
 * (it is then an unexpected error).
 */
export function fromRpcError(error: unknown): GrpcError | undefined {
  if (typeof error === 'string') {
    return new GrpcError(error === FORBIDDEN_MESSAGE ? Status.PERMISSION_DENIED : Status.UNKNOWN, error);
  }
  if (typeof error !== 'object' || error === null || error instanceof Error) return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'number' && isStatus(code)) return new GrpcError(code, typeof message === 'string' ? message : '');
  if (typeof message === 'string' && code === undefined) return fromRpcError(message);
  return undefined;
}

/** An RpcException as a GrpcError (see {@link fromRpcError}); UNKNOWN with its message when the payload is neither form. */
export function fromRpcException(exception: RpcException): GrpcError {
  return fromRpcError(exception.getError()) ?? new GrpcError(Status.UNKNOWN, exception.message);
}
