/**
 * Stubs: descriptions of a gRPC service (its full name and, per method, path, streaming flags
 * and message codecs). Users bring whichever form they have; `toServiceDescriptor` turns it into
 * this library's `ServiceDescriptor`, which the server and client work from.
 */
import protobuf from 'protobufjs';
import { rememberProtoSource } from './proto-source.js';

/**
 * One RPC of a service, with the codecs both sides need. `Req`/`Res` are the message types and
 * `RS`/`SS` the request/response streaming flags, kept as literal types when the stub has them
 * so clients and handlers can be typed.
 */
export interface MethodDescriptor<Req = any, Res = any, RS extends boolean = boolean, SS extends boolean = boolean> {
  /** The service's full name, e.g. `nameko.example`. */
  readonly service: string;
  /** The method's name exactly as in the proto, e.g. `unary_unary`. */
  readonly name: string;
  /** The HTTP/2 path, `/nameko.example/unary_unary`. */
  readonly path: string;
  /** Whether the client sends a stream of requests (client streaming or bidi). */
  readonly requestStream: RS;
  /** Whether the server answers with a stream of responses (server streaming or bidi). */
  readonly responseStream: SS;
  /** Encodes a request message to protobuf bytes (client side). */
  readonly serializeRequest: (value: Req) => Uint8Array;
  /**
   * Decodes a request message from protobuf bytes (server side); throws on malformed input, which the
   * server answers INTERNAL.
   */
  readonly deserializeRequest: (bytes: Buffer) => Req;
  /** Encodes a response message to protobuf bytes (server side). */
  readonly serializeResponse: (value: Res) => Uint8Array;
  /**
   * Decodes a response message from protobuf bytes (client side); throws on malformed input, which
   * fails the call INTERNAL.
   */
  readonly deserializeResponse: (bytes: Buffer) => Res;
}

/** A service: its full name and its methods keyed by proto method name. This is itself a valid stub. */
export interface ServiceDescriptor<M extends Record<string, MethodDescriptor> = Record<string, MethodDescriptor>> {
  /** The service's full name, package included, e.g. `nameko.example`. */
  readonly name: string;
  /** The methods, keyed by their name exactly as in the proto. */
  readonly methods: M;
}

/** A `@grpc/grpc-js` method definition (from `@grpc/proto-loader` or generated `_grpc_pb` code). */
export interface GrpcJsMethodDefinition<Req = any, Res = any> {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize: (value: Req) => Buffer;
  requestDeserialize: (bytes: Buffer) => Req;
  responseSerialize: (value: Res) => Buffer;
  responseDeserialize: (bytes: Buffer) => Res;
  originalName?: string;
}

/** A ts-proto message codec, as its "generic definitions" reference them. */
export interface TsProtoMessageType<T = any> {
  encode(message: T, writer?: any): { finish(): Uint8Array };
  decode(input: Uint8Array, length?: number): T;
  fromPartial?(object: any): T;
}

/** A ts-proto generic service definition (`outputServices=generic-definitions`). */
export interface TsProtoServiceDefinition {
  name: string;
  fullName: string;
  methods: Record<
    string,
    { name: string; requestType: TsProtoMessageType; requestStream: boolean; responseType: TsProtoMessageType; responseStream: boolean }
  >;
}

/**
 * Anything accepted as a stub: a `ServiceDescriptor`; a `@grpc/grpc-js` ServiceDefinition or the
 * client constructor carrying one in `.service`; a ts-proto generic definition; a protobufjs
 * `Service` (its messages then convert with {@link DEFAULT_CONVERSION}).
 */
export type Stub =
  | ServiceDescriptor
  | Record<string, GrpcJsMethodDefinition>
  | {
      /** The service definition carried by a `@grpc/grpc-js` client constructor (`makeGenericClientConstructor`, generated `_grpc_pb` clients). */
      service: Record<string, GrpcJsMethodDefinition>;
    }
  | TsProtoServiceDefinition
  | protobuf.Service;

type Flag<T> = T extends boolean ? T : boolean;

type GrpcJsMethods<D> = {
  [K in keyof D as D[K] extends { path: string } ? K : never]: D[K] extends {
    requestStream: infer RS;
    responseStream: infer SS;
    requestSerialize: (value: infer Req) => any;
    responseDeserialize: (bytes: any) => infer Res;
  }
    ? MethodDescriptor<Req, Res, Flag<RS>, Flag<SS>>
    : never;
};

type TsProtoMethods<M> = {
  [K in keyof M as M[K] extends { name: infer N extends string } ? N : K]: M[K] extends {
    requestType: { decode(...args: any[]): infer Req };
    responseType: { decode(...args: any[]): infer Res };
    requestStream: infer RS;
    responseStream: infer SS;
  }
    ? MethodDescriptor<Req, Res, Flag<RS>, Flag<SS>>
    : never;
};

/** The method descriptors a stub type yields, keyed by proto method name, so clients can be typed from any stub form. */
export type MethodsOf<S> = S extends ServiceDescriptor<infer M>
  ? M
  : S extends {
        /** A ts-proto definition's full service name. */
        fullName: string;
        /** A ts-proto definition's methods. */
        methods: infer M;
      }
    ? TsProtoMethods<M>
    : S extends protobuf.Service
      ? Record<string, MethodDescriptor>
      : S extends {
            /** The definition a `@grpc/grpc-js` client constructor carries. */
            service: infer D;
          }
        ? GrpcJsMethods<D>
        : GrpcJsMethods<S>;

/**
 * How protobufjs-backed stubs convert messages to plain objects: 64-bit integers as strings,
 * enums as their names, bytes as Buffers, unset fields with their defaults, and the name of the
 * set field of each oneof.
 */
export const DEFAULT_CONVERSION: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  bytes: Buffer as unknown as protobuf.IConversionOptions['bytes'],
  defaults: true,
  oneofs: true,
};

function methodNameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function serviceNameOf(path: string): string {
  return path.slice(1, path.lastIndexOf('/'));
}

function messageCodec(type: protobuf.Type, conversion: protobuf.IConversionOptions) {
  return {
    serialize: (value: unknown): Uint8Array => type.encode(type.fromObject(value as Record<string, unknown>)).finish(),
    deserialize: (bytes: Buffer): any => type.toObject(type.decode(bytes), conversion),
  };
}

/** Method descriptors for a protobufjs `Service`, converting messages with `conversion`. */
export function fromProtobufService(service: protobuf.Service, conversion: protobuf.IConversionOptions = DEFAULT_CONVERSION): ServiceDescriptor {
  service.resolveAll();
  const fullName = service.fullName.replace(/^\./, '');
  const methods: Record<string, MethodDescriptor> = {};
  for (const method of service.methodsArray) {
    const request = messageCodec(method.resolvedRequestType as protobuf.Type, conversion);
    const response = messageCodec(method.resolvedResponseType as protobuf.Type, conversion);
    methods[method.name] = {
      service: fullName,
      name: method.name,
      path: `/${fullName}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      serializeRequest: request.serialize,
      deserializeRequest: request.deserialize,
      serializeResponse: response.serialize,
      deserializeResponse: response.deserialize,
    };
    rememberProtoSource(methods[method.name], service);
  }
  const descriptor = { name: fullName, methods };
  rememberProtoSource(descriptor, service);
  return descriptor;
}

function fromGrpcJs(definition: Record<string, GrpcJsMethodDefinition>): ServiceDescriptor {
  const methods: Record<string, MethodDescriptor> = {};
  let name = '';
  for (const key of Object.keys(definition)) {
    const method = definition[key];
    name = serviceNameOf(method.path);
    const methodName = methodNameOf(method.path);
    methods[methodName] = {
      service: name,
      name: methodName,
      path: method.path,
      requestStream: method.requestStream,
      responseStream: method.responseStream,
      serializeRequest: method.requestSerialize,
      deserializeRequest: method.requestDeserialize,
      serializeResponse: method.responseSerialize,
      deserializeResponse: method.responseDeserialize,
    };
  }
  if (name === '') throw new TypeError('Invalid stub: the @grpc/grpc-js service definition has no methods');
  return { name, methods };
}

function fromTsProto(definition: TsProtoServiceDefinition): ServiceDescriptor {
  const methods: Record<string, MethodDescriptor> = {};
  for (const key of Object.keys(definition.methods)) {
    const method = definition.methods[key];
    const encode = (type: TsProtoMessageType) => (value: unknown) =>
      type.encode(type.fromPartial ? type.fromPartial(value) : value).finish();
    const decode = (type: TsProtoMessageType) => (bytes: Buffer) => type.decode(bytes);
    methods[method.name] = {
      service: definition.fullName,
      name: method.name,
      path: `/${definition.fullName}/${method.name}`,
      requestStream: method.requestStream,
      responseStream: method.responseStream,
      serializeRequest: encode(method.requestType),
      deserializeRequest: decode(method.requestType),
      serializeResponse: encode(method.responseType),
      deserializeResponse: decode(method.responseType),
    };
  }
  return { name: definition.fullName, methods };
}

function isRecord(value: unknown): value is Record<string, any> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}

function isDescriptor(stub: Record<string, any>): stub is ServiceDescriptor {
  if (typeof stub.name !== 'string' || !isRecord(stub.methods)) return false;
  return Object.values(stub.methods).every((method) => isRecord(method) && typeof method.serializeRequest === 'function');
}

function isTsProto(stub: Record<string, any>): stub is TsProtoServiceDefinition {
  return typeof stub.fullName === 'string' && isRecord(stub.methods) && !(stub instanceof protobuf.Service);
}

function isGrpcJsDefinition(stub: Record<string, any>): stub is Record<string, GrpcJsMethodDefinition> {
  const values = Object.values(stub);
  return values.length > 0 && values.every((method) => isRecord(method) && typeof method.path === 'string' && typeof method.requestSerialize === 'function');
}

const cache = new WeakMap<object, ServiceDescriptor>();

function normalise(stub: unknown): ServiceDescriptor {
  if (!isRecord(stub)) throw new TypeError(`Invalid stub: expected a service definition, got ${String(stub)}`);
  if (stub instanceof protobuf.Service) return fromProtobufService(stub);
  if (isDescriptor(stub)) return stub;
  if (isTsProto(stub)) return fromTsProto(stub);
  if (isRecord(stub.service) && isGrpcJsDefinition(stub.service)) return fromGrpcJs(stub.service);
  if (isGrpcJsDefinition(stub)) return fromGrpcJs(stub);
  throw new TypeError(
    'Invalid stub: expected a ServiceDescriptor, a @grpc/grpc-js service definition, a ts-proto generic definition or a protobufjs Service',
  );
}

/**
 * Normalises any accepted stub form into a `ServiceDescriptor` (cached per stub object). Throws
 * a TypeError saying which forms are accepted when given anything else.
 */
export function toServiceDescriptor<S extends Stub>(stub: S): ServiceDescriptor<MethodsOf<S> & Record<string, MethodDescriptor>> {
  const cached = cache.get(stub);
  if (cached !== undefined) return cached as ServiceDescriptor<any>;
  const descriptor = normalise(stub);
  cache.set(stub, descriptor);
  return descriptor as ServiceDescriptor<any>;
}
