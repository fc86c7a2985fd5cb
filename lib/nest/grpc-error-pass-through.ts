/** The exception filter `@GrpcImplementing` installs, so the transport sees the original error. */
import { type ArgumentsHost, Catch, type ExceptionFilter, Injectable, Optional, type RpcExceptionFilter } from '@nestjs/common';
import { FILTER_CATCH_EXCEPTIONS } from '@nestjs/common/constants.js';
import { ApplicationConfig } from '@nestjs/core';
import { isObservable, type Observable, throwError } from 'rxjs';

function catches(filter: ExceptionFilter, exception: unknown): boolean {
  const types: Array<abstract new (...args: any[]) => unknown> = Reflect.getMetadata(FILTER_CATCH_EXCEPTIONS, filter.constructor) ?? [];
  return types.length === 0 || types.some((type) => exception instanceof type);
}

/**
 * A catch-all RPC exception filter for gRPC controllers. Nest's default RPC filter would turn
 * anything but an RpcException into "Internal server error" before the transport saw it; this
 * one first offers the error to the application's global filters (`app.useGlobalFilters`,
 * static `APP_FILTER` providers), as Nest would after class filters, and otherwise passes it on
 * unchanged so GrpcTransport maps GrpcError, RpcException and HttpException to their statuses
 * (anything else: UNKNOWN with a generic message).
 */
@Catch()
@Injectable()
export class GrpcErrorPassThrough implements RpcExceptionFilter<unknown> {
  constructor(@Optional() private readonly config?: ApplicationConfig) {}

  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    const globals = this.config?.getGlobalFilters() ?? [];
    // Nest consults the most recently registered global filter first.
    const filter = [...globals].reverse().find((candidate) => catches(candidate, exception));
    const handled: unknown = filter?.catch(exception, host);
    return isObservable(handled) ? (handled as Observable<never>) : throwError(() => exception);
  }
}
