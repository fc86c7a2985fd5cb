/**
 * `ProtoFileIndex`: the `.proto` files of a protobufjs Root as serialized FileDescriptorProtos,
 * with each file's dependencies and the file declaring each symbol, for server reflection.
 */
import path from 'node:path';
import protobuf from 'protobufjs';
import descriptorTypes from 'protobufjs/ext/descriptor.js';
import { protoFileNameOf } from '../protocol/proto-source.js';
import { enumDescriptor, fieldDescriptor, messageDescriptor, type PlainDescriptor, serviceDescriptor } from './descriptor-convert.js';

/** One file of the index. */
interface ProtoFile {
  name: string;
  packageName: string;
  edition: string;
  declarations: protobuf.ReflectionObject[];
  dependencies: Set<string>;
  encoded?: Uint8Array;
}

/** protobufjs's bundled google/protobuf files: full type name → file name (their objects carry no filename). */
let wellKnownFiles: Map<string, string> | undefined;

function wellKnownFileOf(fullName: string): string | undefined {
  if (wellKnownFiles === undefined) {
    wellKnownFiles = new Map();
    const common = protobuf.common as unknown as Record<string, protobuf.INamespace>;
    for (const file of Object.keys(common)) {
      const nested = (common[file].nested?.google as protobuf.INamespace | undefined)?.nested?.protobuf as protobuf.INamespace | undefined;
      for (const name of Object.keys(nested?.nested ?? {})) wellKnownFiles.set(`.google.protobuf.${name}`, file);
    }
  }
  return wellKnownFiles.get(fullName);
}

/** Whether an object is declared at file level (in a package), not inside a message. */
function isTopLevel(object: protobuf.ReflectionObject): boolean {
  return !(object.parent instanceof protobuf.Type);
}

/** The file-level declaration an object belongs to (itself, or the outermost message around it). */
function topLevelOf(object: protobuf.ReflectionObject): protobuf.ReflectionObject {
  let current = object;
  while (!isTopLevel(current) && current.parent !== null) current = current.parent;
  return current;
}

const EDITIONS: Record<string, number> = { '2023': 1000, '2024': 1001 };

/**
 * The files of one Root. Files are named as loaded by `loadProtoRoot` (their import names);
 * objects protobufjs holds without a file (from a JSON descriptor) are grouped per package into
 * `package/path.proto`; protobufjs's bundled well-known types keep their usual file names.
 * Dependencies are the files whose types a file uses. Built once per Root; the Root must not
 * change afterwards.
 */
export class ProtoFileIndex {
  private readonly files = new Map<string, ProtoFile>();
  private readonly symbols = new Map<string, string>();
  private readonly extensionsByType = new Map<string, Map<number, string>>();

  private static readonly cache = new WeakMap<protobuf.Root, ProtoFileIndex>();

  /** The index of a Root, built on first use. */
  static of(root: protobuf.Root): ProtoFileIndex {
    let index = ProtoFileIndex.cache.get(root);
    if (index === undefined) {
      index = new ProtoFileIndex(root);
      ProtoFileIndex.cache.set(root, index);
    }
    return index;
  }

  private constructor(private readonly root: protobuf.Root) {
    root.resolveAll();
    this.collect(root);
    for (const file of this.files.values()) for (const declaration of file.declarations) this.addDependencies(file, declaration);
  }

  /** The names of every file in the index. */
  get fileNames(): string[] {
    return [...this.files.keys()];
  }

  /** The file declaring a fully-qualified symbol (no leading dot), or undefined. */
  fileOfSymbol(symbol: string): string | undefined {
    return this.symbols.get(symbol);
  }

  /** The file declaring extension `number` of message type `typeName`, or undefined. */
  fileOfExtension(typeName: string, number: number): string | undefined {
    return this.extensionsByType.get(typeName)?.get(number);
  }

  /** The extension numbers known for message type `typeName`, or undefined when there is no such message. */
  extensionNumbers(typeName: string): number[] | undefined {
    const type = this.root.lookup(typeName);
    if (!(type instanceof protobuf.Type)) return undefined;
    return [...(this.extensionsByType.get(typeName)?.keys() ?? [])];
  }

  /** The direct dependencies of a file, or undefined when there is no such file. */
  dependenciesOf(name: string): string[] | undefined {
    const file = this.files.get(name);
    return file === undefined ? undefined : [...file.dependencies];
  }

  /** The serialized FileDescriptorProto of a file, or undefined when there is no such file. */
  encodedFile(name: string): Uint8Array | undefined {
    const file = this.files.get(name);
    if (file === undefined) return undefined;
    file.encoded ??= descriptorTypes.FileDescriptorProto.encode(descriptorTypes.FileDescriptorProto.fromObject(this.describe(file))).finish();
    return file.encoded;
  }

  /** The FileDescriptorProto of a file as a plain object. */
  private describe(file: ProtoFile): PlainDescriptor {
    const descriptor: PlainDescriptor = {
      name: file.name,
      dependency: [...file.dependencies],
      messageType: file.declarations.filter((d) => d instanceof protobuf.Type).map((d) => messageDescriptor(d as protobuf.Type, file.edition)),
      enumType: file.declarations.filter((d) => d instanceof protobuf.Enum).map((d) => enumDescriptor(d as protobuf.Enum)),
      service: file.declarations.filter((d) => d instanceof protobuf.Service).map((d) => serviceDescriptor(d as protobuf.Service)),
      extension: file.declarations.filter((d) => d instanceof protobuf.Field).map((d) => fieldDescriptor(d as protobuf.Field, file.edition)),
    };
    if (file.packageName !== '') descriptor.package = file.packageName;
    if (file.edition === 'proto3') descriptor.syntax = 'proto3';
    else if (EDITIONS[file.edition] !== undefined) {
      descriptor.syntax = 'editions';
      descriptor.edition = EDITIONS[file.edition];
    }
    return descriptor;
  }

  /** The name of the file an object was declared in. */
  private fileNameOf(object: protobuf.ReflectionObject): string {
    const top = topLevelOf(object);
    if (top.filename !== null && top.filename !== undefined) {
      const recorded = protoFileNameOf(this.root, top.filename);
      if (recorded !== undefined) return recorded;
      const relative = path.isAbsolute(top.filename) ? path.relative(process.cwd(), top.filename) : top.filename;
      return relative.split(path.sep).join('/');
    }
    const wellKnown = wellKnownFileOf(top.fullName);
    if (wellKnown !== undefined) return wellKnown;
    const packageName = top.parent?.fullName.replace(/^\./, '') ?? '';
    return `${packageName === '' ? 'root' : packageName.replace(/\./g, '/')}.proto`;
  }

  /** Walks the namespaces, placing each file-level declaration in its file and each symbol under its file. */
  private collect(namespace: protobuf.NamespaceBase): void {
    for (const object of namespace.nestedArray) {
      const isDeclaration =
        object instanceof protobuf.Type || object instanceof protobuf.Enum || object instanceof protobuf.Service || object instanceof protobuf.Field;
      if (isDeclaration) {
        const name = this.fileNameOf(object);
        let file = this.files.get(name);
        if (file === undefined) {
          const edition = (object as protobuf.ReflectionObject & { _edition?: string | null })._edition ?? 'proto3';
          file = { name, packageName: namespace.fullName.replace(/^\./, ''), edition, declarations: [], dependencies: new Set() };
          this.files.set(name, file);
        }
        file.declarations.push(object);
        this.addSymbols(object, name);
      } else if (object instanceof protobuf.Namespace) {
        this.collect(object);
      }
    }
  }

  private addSymbols(object: protobuf.ReflectionObject, file: string): void {
    const symbol = (name: string) => this.symbols.set(name.replace(/^\./, ''), file);
    symbol(object.fullName);
    if (object instanceof protobuf.Field) {
      const extended = object.extensionField?.parent;
      if (extended instanceof protobuf.Type) {
        const byNumber = this.extensionsByType.get(extended.fullName.replace(/^\./, '')) ?? new Map<number, string>();
        byNumber.set(object.id, file);
        this.extensionsByType.set(extended.fullName.replace(/^\./, ''), byNumber);
      }
    } else if (object instanceof protobuf.Service) {
      for (const method of object.methodsArray) symbol(method.fullName);
    } else if (object instanceof protobuf.Enum) {
      // Enum values are scoped like their enum: `pkg.VALUE` (protoc's rule), and `pkg.Enum.VALUE` is accepted too.
      for (const value of Object.keys(object.values)) {
        symbol(`${object.parent?.fullName ?? ''}.${value}`);
        symbol(`${object.fullName}.${value}`);
      }
    } else if (object instanceof protobuf.Type) {
      for (const field of object.fieldsArray) {
        if (!field.declaringField) symbol(`${object.fullName}.${(field as protobuf.Field & { protoName?: string }).protoName ?? field.name}`);
      }
      for (const oneof of object.oneofsArray) symbol(`${object.fullName}.${oneof.name}`);
      for (const nested of object.nestedArray) this.addSymbols(nested, file);
    }
  }

  /** Records the files of every type a declaration uses as dependencies of `file`. */
  private addDependencies(file: ProtoFile, object: protobuf.ReflectionObject): void {
    const use = (used: protobuf.ReflectionObject | null | undefined) => {
      if (used === null || used === undefined) return;
      const name = this.fileNameOf(used);
      if (name !== file.name) file.dependencies.add(name);
    };
    if (object instanceof protobuf.Service) {
      for (const method of object.methodsArray) {
        use(method.resolvedRequestType);
        use(method.resolvedResponseType);
      }
    } else if (object instanceof protobuf.Field) {
      object.resolve();
      use(object.resolvedType);
      if (object.extend !== undefined) use(object.extensionField?.parent);
    } else if (object instanceof protobuf.Type) {
      for (const field of object.fieldsArray) {
        if (field.declaringField) continue;
        field.resolve();
        use(field.resolvedType);
      }
      for (const nested of object.nestedArray) this.addDependencies(file, nested);
    }
  }
}
