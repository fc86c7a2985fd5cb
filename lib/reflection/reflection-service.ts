/**
 * `ReflectionService`, gRPC server reflection (`grpc.reflection.v1` and `v1alpha`, one bidi
 * `ServerReflectionInfo` call answering a stream of requests): what `grpcurl`, `buf curl`,
 * Postman and grpcui use to list a server's services and learn their message types.
 */
import type protobuf from 'protobufjs';
import { protoSourceOf } from '../protocol/proto-source.js';
import { Status } from '../protocol/status.js';
import type { MethodDescriptor } from '../protocol/stub.js';
import type { MessageStream } from '../transport/message-source.js';
import { ProtoFileIndex } from './proto-file-index.js';

/** What the reflection service describes: the served service names and the method descriptors served. */
export interface ReflectedServer {
  /** The full names of the services to list (`package.Service`); a GrpcServer lists every service it serves, reflection included. */
  serviceNames(): Iterable<string>;
  /** The descriptors of every method served; their protobufjs Roots, where they have one, are what gets described. */
  methods(): Iterable<MethodDescriptor>;
}

/** A `ServerReflectionRequest` as the protobufjs stub presents it (`message_request` names the field set). */
export interface ReflectionRequest {
  /** The host the client asked about; echoed in `valid_host`, not otherwise checked. */
  host: string;
  /** Which of the request fields below is set (the oneof's name). */
  message_request?: 'file_by_filename' | 'file_containing_symbol' | 'file_containing_extension' | 'all_extension_numbers_of_type' | 'list_services';
  /** Asks for a file by the name an importer uses (e.g. `nameko/example.proto`), with its dependencies. */
  file_by_filename?: string;
  /** Asks for the file defining a fully-qualified symbol (service, method, message, enum, enum value, field or extension). */
  file_containing_symbol?: string;
  /** Asks for the file defining an extension of a message type. */
  file_containing_extension?: {
    /** The fully-qualified name of the extended message type. */
    containing_type: string;
    /** The extension's field number. */
    extension_number: number;
  };
  /** Asks for every extension field number of a fully-qualified message type. */
  all_extension_numbers_of_type?: string;
  /** Asks for the list of services; the value itself is ignored. */
  list_services?: string;
}

/** A `ServerReflectionResponse`, with exactly one of the answer fields set. */
export interface ReflectionResponse {
  /** The request's `host`, echoed. */
  valid_host: string;
  /** The request this answers. */
  original_request: ReflectionRequest;
  /** Answers a file request: serialized `FileDescriptorProto`s, the requested file first, then its transitive dependencies. */
  file_descriptor_response?: {
    /** The serialized `google.protobuf.FileDescriptorProto`s. */
    file_descriptor_proto: Uint8Array[];
  };
  /** Answers `all_extension_numbers_of_type`. */
  all_extension_numbers_response?: {
    /** The fully-qualified name of the message type asked about. */
    base_type_name: string;
    /** Every field number an extension of it uses. */
    extension_number: number[];
  };
  /** Answers `list_services`. */
  list_services_response?: {
    /** One entry per service. */
    service: Array<{
      /** The service's fully-qualified name. */
      name: string;
    }>;
  };
  /** Answers a request that failed, e.g. NOT_FOUND for an unknown file or symbol. */
  error_response?: {
    /** The gRPC status code of the failure. */
    error_code: number;
    /** What was not found, or why the request failed. */
    error_message: string;
  };
}

type Answer = Omit<ReflectionResponse, 'valid_host' | 'original_request'>;

const notFound = (message: string): Answer => ({ error_response: { error_code: Status.NOT_FOUND, error_message: message } });

/** The files of several Roots seen as one pool: the first Root holding a file name or symbol wins. */
class FilePool {
  constructor(private readonly indexes: ProtoFileIndex[]) {}

  private find<T>(lookup: (index: ProtoFileIndex) => T | undefined): { index: ProtoFileIndex; value: T } | undefined {
    for (const index of this.indexes) {
      const value = lookup(index);
      if (value !== undefined) return { index, value };
    }
    return undefined;
  }

  /** A file and its transitive dependencies, serialized, the file first; undefined when it is unknown. */
  fileWithDependencies(name: string): Uint8Array[] | undefined {
    if (this.find((index) => index.encodedFile(name)) === undefined) return undefined;
    const out: Uint8Array[] = [];
    const seen = new Set<string>();
    const queue = [name];
    while (queue.length > 0) {
      const next = queue.shift()!;
      if (seen.has(next)) continue;
      seen.add(next);
      const found = this.find((index) => index.encodedFile(next));
      if (found === undefined) continue;
      out.push(found.value);
      queue.push(...(found.index.dependenciesOf(next) ?? []));
    }
    return out;
  }

  fileOfSymbol(symbol: string): string | undefined {
    return this.find((index) => index.fileOfSymbol(symbol))?.value;
  }

  fileOfExtension(typeName: string, number: number): string | undefined {
    return this.find((index) => index.fileOfExtension(typeName, number))?.value;
  }

  extensionNumbers(typeName: string): number[] | undefined {
    const all = this.indexes.map((index) => index.extensionNumbers(typeName)).filter((numbers) => numbers !== undefined);
    return all.length === 0 ? undefined : [...new Set(all.flat())];
  }
}

/**
 * Server reflection over a server's services, built from the protobufjs Roots their stubs came
 * from (`loadStub`, `loadStubs`, `stubFromJSON`, protobufjs `Service`s, GrpcTransport's
 * `protos`). Every file of those Roots can be fetched by name or by a symbol it declares
 * (package.Service, package.Service.Method, messages, nested types, enums, enum values,
 * fields, extensions), with its transitive dependencies. Services from other stub forms
 * (`@grpc/grpc-js` definitions, ts-proto), and services without one implemented method, are
 * listed but not described: lookups of their symbols answer NOT_FOUND. Unknown names answer an `error_response` with NOT_FOUND and the stream
 * goes on. A GrpcServer created with `reflection: true` serves one.
 */
export class ReflectionService {
  constructor(private readonly server: ReflectedServer) {}

  /** The `ServerReflectionInfo` handler, for both `grpc.reflection.v1` and `v1alpha` (their messages are identical). */
  readonly implementation = {
    /** The bidi call: one response per request, in order, until the client ends its stream. */
    ServerReflectionInfo: (requests: MessageStream<ReflectionRequest>): AsyncIterable<ReflectionResponse> => this.answerAll(requests),
  };

  private async *answerAll(requests: MessageStream<ReflectionRequest>): AsyncIterable<ReflectionResponse> {
    for await (const request of requests) yield this.answer(request);
  }

  /** The response to one request. */
  answer(request: ReflectionRequest): ReflectionResponse {
    return { valid_host: request.host, original_request: request, ...this.answerFor(request) };
  }

  private answerFor(request: ReflectionRequest): Answer {
    switch (request.message_request) {
      case 'list_services':
        return { list_services_response: { service: [...new Set(this.server.serviceNames())].sort().map((name) => ({ name })) } };
      case 'file_by_filename':
        return this.files(request.file_by_filename!, `File not found: ${request.file_by_filename}`);
      case 'file_containing_symbol': {
        const symbol = request.file_containing_symbol!.replace(/^\./, '');
        const file = this.pool().fileOfSymbol(symbol);
        return file === undefined ? notFound(`Symbol not found: ${symbol}`) : this.files(file, `Symbol not found: ${symbol}`);
      }
      case 'file_containing_extension': {
        const { containing_type, extension_number } = request.file_containing_extension!;
        const typeName = containing_type.replace(/^\./, '');
        const file = this.pool().fileOfExtension(typeName, extension_number);
        if (file === undefined) return notFound(`Extension not found: ${typeName} ${extension_number}`);
        return this.files(file, `Extension not found: ${typeName} ${extension_number}`);
      }
      case 'all_extension_numbers_of_type': {
        const typeName = request.all_extension_numbers_of_type!.replace(/^\./, '');
        const numbers = this.pool().extensionNumbers(typeName);
        if (numbers === undefined) return notFound(`Type not found: ${typeName}`);
        return { all_extension_numbers_response: { base_type_name: typeName, extension_number: numbers } };
      }
      default:
        return { error_response: { error_code: Status.INVALID_ARGUMENT, error_message: 'The request sets no message_request field' } };
    }
  }

  private files(name: string, missing: string): Answer {
    const files = this.pool().fileWithDependencies(name);
    return files === undefined ? notFound(missing) : { file_descriptor_response: { file_descriptor_proto: files } };
  }

  /** The pool of the Roots behind the methods served now (services may be added while serving). */
  private pool(): FilePool {
    const roots = new Set<protobuf.Root>();
    for (const method of this.server.methods()) {
      const root = protoSourceOf(method)?.root;
      if (root !== undefined && root !== null) roots.add(root);
    }
    return new FilePool([...roots].map((root) => ProtoFileIndex.of(root)));
  }
}
