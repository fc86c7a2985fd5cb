/** `GrpcHealthModule`, which provides GrpcHealthService. */
import { Module } from '@nestjs/common';
import { GrpcHealthService } from './grpc-health-service.js';

/**
 * Provides and exports `GrpcHealthService`: import it in every module that injects the service
 * (it is one instance per app). Serving the health service itself is the transport's
 * `health: true` option: `new GrpcTransport({ url, protos, health: true })`.
 */
@Module({ providers: [GrpcHealthService], exports: [GrpcHealthService] })
export class GrpcHealthModule {}
