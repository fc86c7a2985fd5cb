/** The sample's GrpcTransport: the example service with health checking and server reflection. */
import { GrpcTransport } from '../lib/index.js';

/**
 * A GrpcTransport on `url` serving `grpc.health.v1.Health` (every service SERVING while up,
 * NOT_SERVING once `app.close()` begins) and server reflection (`grpc.reflection.v1` and
 * `v1alpha`), so `buf curl --list-services` and `grpcurl` work without the protos.
 */
export function sampleTransport(url: string): GrpcTransport {
  return new GrpcTransport({ url, health: true, reflection: true });
}
