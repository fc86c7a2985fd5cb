/**
 * Code generation without protoc: from `.proto` files read by protobufjs, one TypeScript module
 * per proto package with message interfaces, enum unions and typed stubs, plus one module holding
 * the descriptor the stubs are built from at run time.
 */
import protobuf from 'protobufjs';

/** A file to write, relative to the output folder. */
export interface GeneratedFile {
  /**
   * The file name, relative to the output folder: the proto package with `.ts` (e.g. `nameko.ts`;
   * `root.ts` for no package), or `descriptor.ts` for the descriptors the stubs are built from.
   */
  path: string;
  /** The TypeScript source. */
  content: string;
}

/** Options of generation. */
export interface GenerateOptions {
  /** The module generated code imports the library from (default `nestjs-grpc-transport/core`, which loads no Nest package). */
  importFrom?: string;
  /** The `.proto` files, named in each file's header. */
  sources: string[];
}

/** The name of the module holding the descriptor. */
const DESCRIPTOR_MODULE = 'descriptor';

/** A property name as written in TypeScript: bare when it is an identifier, quoted otherwise. */
function property(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name);
}

const SCALARS: Record<string, string> = {
  double: 'number',
  float: 'number',
  int32: 'number',
  uint32: 'number',
  sint32: 'number',
  fixed32: 'number',
  sfixed32: 'number',
  int64: 'string',
  uint64: 'string',
  sint64: 'string',
  fixed64: 'string',
  sfixed64: 'string',
  bool: 'boolean',
  string: 'string',
  bytes: 'Buffer',
};

type Definition = protobuf.Type | protobuf.Enum | protobuf.Service;

/** The package of a definition: its nearest enclosing namespace that is not a message. */
function packageOf(definition: protobuf.ReflectionObject): string {
  let parent = definition.parent;
  while (parent instanceof protobuf.Type) parent = parent.parent;
  return parent === null || parent instanceof protobuf.Root ? '' : parent.fullName.replace(/^\./, '');
}

/** The TypeScript name of a definition within its package: nested messages joined with `_`. */
function localName(definition: protobuf.ReflectionObject): string {
  const parts = [definition.name];
  for (let parent = definition.parent; parent instanceof protobuf.Type; parent = parent.parent) parts.unshift(parent.name);
  return parts.join('_');
}

/** The module a package is generated into. */
function moduleName(pkg: string): string {
  return pkg === '' ? 'root' : pkg;
}

/** An identifier for importing another package's module. */
function namespaceAlias(pkg: string): string {
  return moduleName(pkg).replace(/\W/g, '_');
}

function collect(namespace: protobuf.NamespaceBase, out: Definition[]): Definition[] {
  for (const nested of namespace.nestedArray) {
    if (nested instanceof protobuf.Type || nested instanceof protobuf.Enum || nested instanceof protobuf.Service) out.push(nested);
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) collect(nested, out);
  }
  return out;
}

/** Writes one package's module. */
class PackageWriter {
  private readonly imports = new Set<string>();
  private readonly lines: string[] = [];
  private usesMethodDescriptor = false;

  constructor(
    private readonly pkg: string,
    private readonly options: Required<GenerateOptions>,
  ) {}

  private reference(definition: protobuf.ReflectionObject): string {
    const pkg = packageOf(definition);
    if (pkg === this.pkg) return localName(definition);
    this.imports.add(pkg);
    return `${namespaceAlias(pkg)}.${localName(definition)}`;
  }

  private fieldType(field: protobuf.Field): string {
    const resolved = field.resolvedType;
    const base = resolved !== null ? this.reference(resolved) : (SCALARS[field.type] ?? 'unknown');
    if (field instanceof protobuf.MapField) return `Record<string, ${base}>`;
    return field.repeated ? `${base}[]` : base;
  }

  message(type: protobuf.Type): void {
    this.lines.push(`/** The message ${type.fullName.replace(/^\./, '')}. */`, `export interface ${localName(type)} {`);
    for (const field of type.fieldsArray) {
      const inOneof = field.partOf !== null;
      const isMessage = field.resolvedType instanceof protobuf.Type && !field.repeated && !(field instanceof protobuf.MapField);
      const optional = inOneof ? '?' : '';
      const type = this.fieldType(field) + (isMessage || inOneof ? ' | null' : '');
      this.lines.push(`  ${property(field.name)}${optional}: ${type};`);
    }
    for (const oneof of type.oneofsArray) {
      if (oneof.name.startsWith('_') && oneof.fieldsArray.length === 1) continue;
      const names = oneof.fieldsArray.map((field) => JSON.stringify(field.name)).join(' | ');
      this.lines.push(`  /** The name of the set field of oneof ${oneof.name}. */`, `  ${property(oneof.name)}?: ${names};`);
    }
    this.lines.push('}', '');
  }

  enumeration(enumeration: protobuf.Enum): void {
    const names = Object.keys(enumeration.values).map((name) => JSON.stringify(name));
    this.lines.push(`/** The enum ${enumeration.fullName.replace(/^\./, '')}, as value names. */`, `export type ${localName(enumeration)} = ${names.join(' | ')};`, '');
  }

  service(service: protobuf.Service): void {
    this.usesMethodDescriptor = true;
    const fullName = service.fullName.replace(/^\./, '');
    this.lines.push(`/** The stub of ${fullName}: use it with @GrpcImplementing, GrpcClient and GrpcClientModule.forFeature. */`);
    this.lines.push(`export const ${localName(service)}Stub = stubFromJSON<{`);
    for (const method of service.methodsArray) {
      const request = this.reference(method.resolvedRequestType as protobuf.Type);
      const response = this.reference(method.resolvedResponseType as protobuf.Type);
      this.lines.push(`  ${property(method.name)}: MethodDescriptor<${request}, ${response}, ${method.requestStream === true}, ${method.responseStream === true}>;`);
    }
    this.lines.push(`}>(descriptor, '${fullName}');`, '');
  }

  render(): string {
    const header = [
      `// Generated by nestjs-grpc-transport from ${this.options.sources.join(', ')}. Do not edit.`,
      `// Package ${this.pkg || '(none)'}.`,
      '',
    ];
    if (this.usesMethodDescriptor) {
      header.push(`import { type MethodDescriptor, stubFromJSON } from '${this.options.importFrom}';`);
      header.push(`import { descriptor } from './${DESCRIPTOR_MODULE}.js';`);
    }
    for (const pkg of [...this.imports].sort()) header.push(`import type * as ${namespaceAlias(pkg)} from './${moduleName(pkg)}.js';`);
    if (header.length > 3) header.push('');
    return [...header, ...this.lines].join('\n').replace(/\n+$/, '\n');
  }
}

/** Generates the modules for every definition in `root`: one per package, and the descriptor module. */
export function generateTypes(root: protobuf.Root, options: GenerateOptions): GeneratedFile[] {
  const settings: Required<GenerateOptions> = { ...options, importFrom: options.importFrom ?? 'nestjs-grpc-transport/core' };
  const writers = new Map<string, PackageWriter>();
  for (const definition of collect(root, [])) {
    const pkg = packageOf(definition);
    let writer = writers.get(pkg);
    if (writer === undefined) {
      writer = new PackageWriter(pkg, settings);
      writers.set(pkg, writer);
    }
    if (definition instanceof protobuf.Type) writer.message(definition);
    else if (definition instanceof protobuf.Enum) writer.enumeration(definition);
    else writer.service(definition);
  }
  const files = [...writers].map(([pkg, writer]) => ({ path: `${moduleName(pkg)}.ts`, content: writer.render() }));
  files.push({
    path: `${DESCRIPTOR_MODULE}.ts`,
    content: [
      `// Generated by nestjs-grpc-transport from ${settings.sources.join(', ')}. Do not edit.`,
      '',
      '/** The protobufjs JSON descriptor of the generated packages, from which their stubs are built. */',
      `export const descriptor = ${JSON.stringify(root.toJSON(), null, 2)};`,
      '',
    ].join('\n'),
  });
  return files.sort((a, b) => a.path.localeCompare(b.path));
}
