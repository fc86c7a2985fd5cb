/**
 * `GrpcHealthService`, the injectable face of the health statuses of the app's GrpcTransports.
 */
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import type { Subscription } from 'rxjs';
import type { ServingStatus } from '../health/health-service.js';
import type { GrpcServer } from '../server/grpc-server.js';
import { GrpcTransport } from './grpc-transport.js';

/**
 * Sets and reads the `grpc.health.v1.Health` statuses of every GrpcTransport of the Nest app
 * (a microservice app, or each `connectMicroservice` of a hybrid app), found through Nest's
 * registry of RPC servers. Provided by `GrpcHealthModule`; the statuses are served when the
 * transport was created with `health: true`. The transport already marks `""` and every
 * served service SERVING when it listens, and NOT_SERVING when `app.close()` begins; use this
 * to report a dependency going down (`setStatus('pkg.Service', 'NOT_SERVING')`) or a component
 * of your own under any name. Statuses set before the transport is known are applied when it is.
 */
@Injectable()
export class GrpcHealthService implements OnModuleDestroy {
  private readonly servers = new Set<GrpcServer>();
  private readonly pending = new Map<string, ServingStatus | undefined>();
  private readonly subscription: Subscription;

  constructor(modules: ModulesContainer) {
    this.subscription = modules.getRpcTargetRegistry().subscribe((target) => {
      if (target instanceof GrpcTransport) this.attach(target.unwrap<GrpcServer>());
    });
  }

  private attach(server: GrpcServer): void {
    this.servers.add(server);
    for (const [service, status] of this.pending) {
      if (status === undefined) server.health.clearStatus(service);
      else server.health.setStatus(service, status);
    }
  }

  /** Sets a service's status (`""` is the whole server) on every GrpcTransport; Watch calls see the change. Ignored once shutdown has begun. */
  setStatus(service: string, status: ServingStatus): void {
    this.pending.set(service, status);
    for (const server of this.servers) server.health.setStatus(service, status);
  }

  /** Forgets a service's status: Check answers NOT_FOUND, Watch calls see SERVICE_UNKNOWN. */
  clearStatus(service: string): void {
    this.pending.set(service, undefined);
    for (const server of this.servers) server.health.clearStatus(service);
  }

  /** A service's status on the (first) GrpcTransport, or as last set here before one was known; undefined when it has none. */
  getStatus(service: string): ServingStatus | undefined {
    const [first] = this.servers;
    return first !== undefined ? first.health.getStatus(service) : this.pending.get(service);
  }

  /** Stops following the app's RPC servers. */
  onModuleDestroy(): void {
    this.subscription.unsubscribe();
  }
}
