/**
 * Loading stubs straight from `.proto` files with protobufjs, so no code generation step is
 * needed: `loadStub('protos/example.proto', 'nameko.example')`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { rememberProtoFileNames } from './proto-source.js';
import { DEFAULT_CONVERSION, fromProtobufService, type MethodDescriptor, type ServiceDescriptor } from './stub.js';

/** Options for reading `.proto` files. */
export interface LoadOptions {
  /** Folders searched, in order, for imported files; the importing file's folder is always searched first. */
  includeDirs?: string[];
  /** Keep field names as written in the proto (default true); false converts them to camelCase. */
  keepCase?: boolean;
  /** How messages convert to plain objects; defaults to {@link DEFAULT_CONVERSION}. */
  conversion?: protobuf.IConversionOptions;
}

/** The protos this package ships (google/rpc/*), found from this module's location in lib/ or dist/lib/. */
function bundledProtoDirs(): string[] {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return [path.resolve(here, '../../protos'), path.resolve(here, '../../../protos')].filter((dir) => existsSync(dir));
}

/** The absolute path of a proto this package ships, such as `grpc/health/v1/health.proto`. */
export function bundledProtoPath(file: string): string {
  const dirs = bundledProtoDirs();
  return dirs.map((dir) => path.resolve(dir, file)).find((candidate) => existsSync(candidate)) ?? path.resolve(dirs[0] ?? '.', file);
}

/**
 * The name an importer would write for a loaded file: its path relative to the first search
 * folder holding it, else relative to the working folder, with `/` separators. protobufjs's own
 * bundled files (`google/protobuf/*.proto`) keep their names.
 */
function importName(filename: string, searchDirs: string[]): string {
  if (!path.isAbsolute(filename)) return filename.split(path.sep).join('/');
  const dir = searchDirs.find((candidate) => !path.relative(candidate, filename).startsWith('..'));
  return path.relative(dir ?? process.cwd(), filename).split(path.sep).join('/');
}

/**
 * Reads proto files into a resolved protobufjs Root. Missing files and syntax errors throw with
 * the file named. The Root remembers each file's import name for server reflection.
 */
export function loadProtoRoot(files: string | string[], options: LoadOptions = {}): protobuf.Root {
  const root = new protobuf.Root();
  const searchDirs = [...(options.includeDirs ?? []), ...bundledProtoDirs()];
  root.resolvePath = (origin, target) => {
    if (path.isAbsolute(target)) return target;
    const candidates = [origin ? path.resolve(path.dirname(origin), target) : path.resolve(target)];
    for (const dir of searchDirs) candidates.push(path.resolve(dir, target));
    return candidates.find((candidate) => existsSync(candidate)) ?? candidates[0];
  };
  root.loadSync(files, { keepCase: options.keepCase ?? true });
  root.resolveAll();
  const absoluteDirs = searchDirs.map((dir) => path.resolve(dir));
  rememberProtoFileNames(root, new Map(root.files.map((file) => [file, importName(file, absoluteDirs)])));
  return root;
}

function servicesIn(namespace: protobuf.NamespaceBase, out: protobuf.Service[]): protobuf.Service[] {
  for (const nested of namespace.nestedArray) {
    if (nested instanceof protobuf.Service) out.push(nested);
    else if (nested instanceof protobuf.Namespace) servicesIn(nested, out);
  }
  return out;
}

/**
 * The stub of one service, by its full name (`package.Service`), from `.proto` files. Throws a
 * TypeError listing the services found when the name matches none.
 */
export function loadStub(files: string | string[], serviceName: string, options: LoadOptions = {}): ServiceDescriptor {
  const stubs = loadStubs(files, undefined, options);
  const stub = stubs[serviceName.replace(/^\./, '')];
  if (stub === undefined) {
    throw new TypeError(`No service ${serviceName} in ${String(files)}; found: ${Object.keys(stubs).join(', ') || 'none'}`);
  }
  return stub;
}

/**
 * The stubs of every service in the files (or only those in `packageName` and its
 * sub-packages), keyed by full service name.
 */
export function loadStubs(files: string | string[], packageName?: string, options: LoadOptions = {}): Record<string, ServiceDescriptor> {
  const root = loadProtoRoot(files, options);
  const stubs: Record<string, ServiceDescriptor> = {};
  for (const service of servicesIn(root, [])) {
    const stub = fromProtobufService(service, options.conversion ?? DEFAULT_CONVERSION);
    if (packageName === undefined || stub.name.startsWith(`${packageName}.`)) stubs[stub.name] = stub;
  }
  return stubs;
}

const rootsFromJSON = new WeakMap<object, protobuf.Root>();

/**
 * The stub of one service from a protobufjs JSON descriptor (`Root#toJSON()`), as generated code
 * embeds it; `M` types its methods. The parsed root is cached per descriptor object. Throws a
 * TypeError when the descriptor has no such service.
 */
export function stubFromJSON<M extends Record<string, MethodDescriptor>>(
  descriptor: protobuf.INamespace,
  serviceName: string,
  conversion: protobuf.IConversionOptions = DEFAULT_CONVERSION,
): ServiceDescriptor<M> {
  let root = rootsFromJSON.get(descriptor);
  if (root === undefined) {
    root = protobuf.Root.fromJSON(descriptor);
    root.resolveAll();
    rootsFromJSON.set(descriptor, root);
  }
  const service = root.lookup(serviceName);
  if (!(service instanceof protobuf.Service)) throw new TypeError(`No service ${serviceName} in the descriptor`);
  return fromProtobufService(service, conversion) as ServiceDescriptor<M>;
}
