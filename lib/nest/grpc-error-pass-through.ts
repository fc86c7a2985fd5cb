/** The exception filter `@GrpcImplementing` installs, so the transport sees the original error. */
import { type ArgumentsHost, Catch, type RpcExceptionFilter } from '@nestjs/common';
import { type Observable, throwError } from 'rxjs';

/**
 * A catch-all RPC exception filter that passes every error on unchanged. Nest's default RPC
 * filter would turn anything but an RpcException into "Internal server error" before the
 * transport saw it; with this filter GrpcTransport maps GrpcError, RpcException and
 * HttpException to their statuses itself, and still answers UNKNOWN with a generic message for
 * anything else.
 */
@Catch()
export class GrpcErrorPassThrough implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}
