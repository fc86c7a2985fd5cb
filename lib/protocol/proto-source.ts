/**
 * Where protobufjs-backed stubs came from: the protobufjs `Service` behind a service or method
 * descriptor, and the names of the `.proto` files of a loaded Root as an importer would write
 * them (`google/rpc/status.proto`). Server reflection describes services from these.
 */
import type protobuf from 'protobufjs';

const services = new WeakMap<object, protobuf.Service>();
const fileNames = new WeakMap<protobuf.Root, ReadonlyMap<string, string>>();

/** Records that a service or method descriptor was built from `service`. */
export function rememberProtoSource(descriptor: object, service: protobuf.Service): void {
  services.set(descriptor, service);
}

/**
 * The protobufjs Service a service or method descriptor was built from, or undefined for
 * descriptors from other stub forms (`@grpc/grpc-js` definitions, ts-proto, hand-written).
 */
export function protoSourceOf(descriptor: object): protobuf.Service | undefined {
  return services.get(descriptor);
}

/** Records the proto file names of a Root: each path protobufjs loaded (its objects' `filename`) → its import name. */
export function rememberProtoFileNames(root: protobuf.Root, names: ReadonlyMap<string, string>): void {
  fileNames.set(root, names);
}

/** The import name of a file of `root` given its protobufjs `filename`, or undefined when none was recorded. */
export function protoFileNameOf(root: protobuf.Root, filename: string): string | undefined {
  return fileNames.get(root)?.get(filename);
}
