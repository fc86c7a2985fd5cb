/**
 * `HealthService`, the serving-status registry behind `grpc.health.v1.Health` (the grpc
 * repository's doc/health-checking.md): Check answers one status, Watch streams its changes.
 */
import { Observable, Subject } from 'rxjs';
import { GrpcError } from '../protocol/grpc-error.js';
import { Status } from '../protocol/status.js';

/** A status a service can be given: `UNKNOWN`, `SERVING` or `NOT_SERVING`, as in `HealthCheckResponse.ServingStatus`. */
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING';

/** What Check and Watch answer: a ServingStatus, or `SERVICE_UNKNOWN` (Watch only) for a service without one. */
export interface HealthCheckResponse {
  /** The service's status. */
  status: ServingStatus | 'SERVICE_UNKNOWN';
}

/** A Check or Watch request: the service asked about, `""` for the whole server. */
export interface HealthCheckRequest {
  /** The full service name (`package.Service`), or `""` for the server as a whole. */
  service: string;
}

/**
 * The health of a server's services, keyed by full service name (`package.Service`) with `""`
 * for the server as a whole. A GrpcServer owns one as `server.health` and serves it as
 * `grpc.health.v1.Health` when created with `health: true`: when it starts listening, `""` and
 * every service it serves become SERVING (unless given a status before), services added later
 * too; when shutdown begins, every status turns NOT_SERVING, Watch calls receive that and end
 * with OK, and later `setStatus` calls are ignored, so load balancers stop sending calls before
 * the server drains. Check of a service without a status fails NOT_FOUND; Watch reports it as
 * SERVICE_UNKNOWN and stays open until it gets one. Only changes are streamed.
 */
export class HealthService {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly changes = new Subject<string>();
  private terminal = false;

  /** The `grpc.health.v1.Health` handlers, for `GrpcServer.addService(healthStub(), health.implementation)`. */
  readonly implementation = {
    /** The unary `Check`: the service's status, or NOT_FOUND when it has none. */
    Check: (request: HealthCheckRequest): HealthCheckResponse => {
      const status = this.statuses.get(request.service);
      if (status === undefined) throw new GrpcError(Status.NOT_FOUND, `Unknown service ${JSON.stringify(request.service)}`);
      return { status };
    },
    /**
     * The server-streaming `Watch`: the status now (SERVICE_UNKNOWN when none), then each change; ends
     * when shutdown begins.
     */
    Watch: (request: HealthCheckRequest): Observable<HealthCheckResponse> => this.watch(request.service),
  };

  /** Sets a service's status (`""` is the whole server); Watch calls on it see the change. Ignored once shutdown has begun. */
  setStatus(service: string, status: ServingStatus): void {
    if (this.terminal) return;
    this.update(service, status);
  }

  /** A service's status, or undefined when it has none (Check then answers NOT_FOUND). */
  getStatus(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** Forgets a service's status: Check answers NOT_FOUND, Watch calls see SERVICE_UNKNOWN. Ignored once shutdown has begun. */
  clearStatus(service: string): void {
    if (this.terminal || !this.statuses.delete(service)) return;
    this.changes.next(service);
  }

  /** Whether shutdown has begun: every status is NOT_SERVING for good. */
  get shuttingDown(): boolean {
    return this.terminal;
  }

  /** Marks services as served: those without a status become SERVING. The server calls it when it listens and as services are added. */
  registerServices(services: Iterable<string>): void {
    if (this.terminal) return;
    for (const service of services) if (!this.statuses.has(service)) this.update(service, 'SERVING');
  }

  /** Turns every status NOT_SERVING for good and ends every Watch call. The server calls it when shutdown begins. Idempotent. */
  enterShutdown(): void {
    if (this.terminal) return;
    this.terminal = true;
    for (const service of this.statuses.keys()) this.update(service, 'NOT_SERVING');
    this.changes.complete();
  }

  private update(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    this.changes.next(service);
  }

  private watch(service: string): Observable<HealthCheckResponse> {
    return new Observable<HealthCheckResponse>((subscriber) => {
      let last: HealthCheckResponse['status'] | undefined;
      const emit = () => {
        const status = this.statuses.get(service) ?? 'SERVICE_UNKNOWN';
        if (status === last) return;
        last = status;
        subscriber.next({ status });
      };
      emit();
      return this.changes.subscribe({
        next: (changed) => {
          if (changed === service) emit();
        },
        complete: () => subscriber.complete(),
      });
    });
  }
}
