/** `GrpcClientModule`: typed gRPC clients as Nest providers. */
import { type DynamicModule, type InjectionToken, Module, type ModuleMetadata, type Provider } from '@nestjs/common';
import type { GrpcClientOptions } from '../client/client-options.js';
import { GrpcClient } from '../client/grpc-client.js';
import type { Stub } from '../protocol/stub.js';
import { GRPC_CLIENT_DEFAULTS, grpcClientToken } from './grpc-client-token.js';

/** Options shared by every client of the application, and a fallback address. */
export interface GrpcClientDefaults extends GrpcClientOptions {
  /** The target used by clients registered without `url` or `targets`. */
  url?: string;
}

/** One client to register with `forFeature`. */
export interface GrpcClientRegistration {
  /** The service to call. */
  stub: Stub;
  /** The target: `host:port`, `dns:///name:port`, `ipv4:…`, `unix:path`, … (see the README's "Targets and load balancing"). */
  url?: string;
  /** Several targets, their addresses pooled; spread by the client's `loadBalancingPolicy` (default `pick_first`). */
  targets?: string[];
  /** Options of this client, over the `forRoot` defaults. */
  options?: GrpcClientOptions;
  /** Register under this name instead of the stub's service name (to have two clients of one service). */
  name?: string;
}

/** `forRootAsync`'s options: a factory of the defaults and what it needs. */
export interface GrpcClientDefaultsAsync extends Pick<ModuleMetadata, 'imports'> {
  /**
   * Computes the defaults from the providers listed in `inject`, in that order; may be async. Clients
   * are created once it resolves.
   */
  useFactory: (...args: any[]) => GrpcClientDefaults | Promise<GrpcClientDefaults>;
  /** Providers passed to `useFactory` (default none); they must be visible from `imports` or be global. */
  inject?: InjectionToken[];
}

function clientProvider(registration: GrpcClientRegistration): Provider {
  return {
    provide: grpcClientToken(registration.name ?? registration.stub),
    useFactory: (defaults: GrpcClientDefaults | undefined) => {
      const { url, ...shared } = defaults ?? {};
      const targets = registration.targets ?? registration.url ?? url;
      if (targets === undefined) {
        throw new Error(`GrpcClientModule.forFeature: no url or targets for the client of ${grpcClientToken(registration.name ?? registration.stub)}`);
      }
      return new GrpcClient(targets, registration.stub, { ...shared, ...registration.options });
    },
    inject: [{ token: GRPC_CLIENT_DEFAULTS, optional: true }],
  };
}

/** Closes a feature's clients when its module is destroyed. */
function closerProvider(tokens: string[]): Provider {
  return {
    provide: `nestjs-grpc-transport:closer:${tokens.join(',')}`,
    useFactory: (...clients: Array<{ close(): void }>) => ({
      onModuleDestroy: () => clients.forEach((client) => client.close()),
    }),
    inject: tokens,
  };
}

/**
 * Typed gRPC clients for Nest. `forRoot(defaults)` (or `forRootAsync`) sets options shared by
 * every client, globally; `forFeature([{ stub, url }])` registers one client per stub, injected
 * with `@InjectGrpcClient(stub)`. Clients connect at their first call and are closed when their
 * module is destroyed. Calls made while serving a gRPC call inherit its deadline and
 * cancellation (and the metadata keys listed in `propagate.metadata`).
 */
@Module({})
export class GrpcClientModule {
  /** Shared client options for the whole application. */
  static forRoot(defaults: GrpcClientDefaults): DynamicModule {
    return {
      module: GrpcClientModule,
      global: true,
      providers: [{ provide: GRPC_CLIENT_DEFAULTS, useValue: defaults }],
      exports: [GRPC_CLIENT_DEFAULTS],
    };
  }

  /** Shared client options computed by a factory (from a ConfigService, say). */
  static forRootAsync(options: GrpcClientDefaultsAsync): DynamicModule {
    return {
      module: GrpcClientModule,
      global: true,
      imports: options.imports ?? [],
      providers: [{ provide: GRPC_CLIENT_DEFAULTS, useFactory: options.useFactory, inject: options.inject ?? [] }],
      exports: [GRPC_CLIENT_DEFAULTS],
    };
  }

  /** Registers and exports one typed client per entry. */
  static forFeature(registrations: GrpcClientRegistration[]): DynamicModule {
    const providers = registrations.map(clientProvider);
    const tokens = registrations.map((registration) => grpcClientToken(registration.name ?? registration.stub));
    return {
      module: GrpcClientModule,
      providers: [...providers, closerProvider(tokens)],
      exports: tokens,
    };
  }
}
