/**
 * Conversion of protobufjs reflection objects (messages, fields, enums, services) into the
 * plain `google.protobuf.*DescriptorProto` objects a FileDescriptorProto is made of, as protoc
 * writes them: fully-qualified type names, map entries named `<Field>Entry`, extensions in the
 * `extension` lists, synthetic (proto3 `optional`) oneofs after the real ones. Custom options
 * (`(my.option)`) are left out; standard ones are kept.
 */
import protobuf from 'protobufjs';

/** A descriptor message as a plain object, in protobufjs's camelCase field names (`typeName`). */
export type PlainDescriptor = Record<string, unknown>;

const SCALAR_TYPES: Record<string, number> = {
  double: 1,
  float: 2,
  int64: 3,
  uint64: 4,
  int32: 5,
  fixed64: 6,
  fixed32: 7,
  bool: 8,
  string: 9,
  bytes: 12,
  uint32: 13,
  sfixed32: 15,
  sfixed64: 16,
  sint32: 17,
  sint64: 18,
};
const TYPE_GROUP = 10;
const TYPE_MESSAGE = 11;
const TYPE_ENUM = 14;
const LABEL_OPTIONAL = 1;
const LABEL_REQUIRED = 2;
const LABEL_REPEATED = 3;

/** Standard options per descriptor kind: the proto option name → the descriptor field. */
const OPTION_NAMES = {
  message: { deprecated: 'deprecated' },
  field: { deprecated: 'deprecated', packed: 'packed', lazy: 'lazy' },
  enum: { allow_alias: 'allowAlias', deprecated: 'deprecated' },
  enumValue: { deprecated: 'deprecated' },
  service: { deprecated: 'deprecated' },
  method: { deprecated: 'deprecated' },
} satisfies Record<string, Record<string, string>>;

/** The standard options among protobufjs's parsed `options`, or undefined when there are none. */
function optionsOf(options: Record<string, unknown> | undefined, names: Record<string, string>): PlainDescriptor | undefined {
  if (options === undefined) return undefined;
  const out: PlainDescriptor = {};
  for (const [option, field] of Object.entries(names)) if (options[option] !== undefined) out[field] = options[option];
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The name protoc gives a map field's entry message: `my_map` → `MyMapEntry`. */
export function mapEntryName(fieldName: string): string {
  let name = '';
  let upperNext = true;
  for (const char of fieldName) {
    if (char === '_') upperNext = true;
    else {
      name += upperNext ? char.toUpperCase() : char;
      upperNext = false;
    }
  }
  return `${name}Entry`;
}

function protoName(field: protobuf.Field): string {
  return (field as protobuf.Field & { protoName?: string }).protoName ?? field.name;
}

/** The descriptor type number and type name of a field's value type. */
function valueType(type: string, resolved: protobuf.ReflectionObject | null, delimited = false): { type: number; typeName?: string } {
  if (resolved instanceof protobuf.Enum) return { type: TYPE_ENUM, typeName: resolved.fullName };
  if (resolved instanceof protobuf.Type) return { type: delimited ? TYPE_GROUP : TYPE_MESSAGE, typeName: resolved.fullName };
  const scalar = SCALAR_TYPES[type];
  if (scalar === undefined) throw new Error(`Unresolved type ${type}`);
  return { type: scalar };
}

function defaultValue(field: protobuf.Field): string | undefined {
  const value = (field.options as Record<string, unknown> | undefined)?.default;
  if (value === undefined || value === null) return undefined;
  if (field.resolvedType instanceof protobuf.Enum && typeof value === 'number') return field.resolvedType.valuesById[value];
  return String(value);
}

/** A FieldDescriptorProto for a field or an extension; `oneofIndex` maps oneofs to their position in the message. */
export function fieldDescriptor(field: protobuf.Field, edition: string, oneofIndex?: Map<protobuf.OneOf, number>): PlainDescriptor {
  field.resolve();
  const descriptor: PlainDescriptor = { name: protoName(field), number: field.id };
  const options = (field.options ?? {}) as Record<string, unknown>;
  if (field instanceof protobuf.MapField) {
    descriptor.label = LABEL_REPEATED;
    descriptor.type = TYPE_MESSAGE;
    descriptor.typeName = `${field.parent!.fullName}.${mapEntryName(protoName(field))}`;
  } else {
    Object.assign(descriptor, valueType(field.type, field.resolvedType, field.delimited));
    descriptor.label = field.repeated ? LABEL_REPEATED : field.required && edition === 'proto2' ? LABEL_REQUIRED : LABEL_OPTIONAL;
  }
  if (field.extend !== undefined) {
    const extended = field.extensionField?.parent ?? field.parent?.lookupType(field.extend);
    descriptor.extendee = extended?.fullName ?? field.extend;
  }
  const fallback = defaultValue(field);
  if (fallback !== undefined) descriptor.defaultValue = fallback;
  if (field.partOf !== null && oneofIndex?.has(field.partOf)) descriptor.oneofIndex = oneofIndex.get(field.partOf);
  if (typeof options.json_name === 'string') descriptor.jsonName = options.json_name;
  if (options.proto3_optional === true) descriptor.proto3Optional = true;
  const fieldOptions = optionsOf(options, OPTION_NAMES.field);
  if (fieldOptions !== undefined) descriptor.options = fieldOptions;
  return descriptor;
}

function isSynthetic(oneof: protobuf.OneOf): boolean {
  return oneof.fieldsArray.length === 1 && (oneof.fieldsArray[0].options as Record<string, unknown> | undefined)?.proto3_optional === true;
}

function ranges(entries: Array<number[] | string> | undefined, inclusiveEnd: boolean): { ranges: PlainDescriptor[]; names: string[] } {
  const out = { ranges: [] as PlainDescriptor[], names: [] as string[] };
  for (const entry of entries ?? []) {
    if (typeof entry === 'string') out.names.push(entry);
    else out.ranges.push({ start: entry[0], end: inclusiveEnd ? entry[1] : entry[1] + 1 });
  }
  return out;
}

/** A DescriptorProto for a message type, its nested types, enums, extensions and map entries included. */
export function messageDescriptor(type: protobuf.Type, edition: string): PlainDescriptor {
  const oneofs = [...type.oneofsArray.filter((oneof) => !isSynthetic(oneof)), ...type.oneofsArray.filter(isSynthetic)];
  const oneofIndex = new Map(oneofs.map((oneof, index) => [oneof, index]));
  // Fields another file's `extend` added to this type are that file's extensions, not fields.
  const own = type.fieldsArray.filter((field) => field.declaringField === null || field.declaringField === undefined);
  const nestedType: PlainDescriptor[] = [];
  for (const field of own) {
    if (!(field instanceof protobuf.MapField)) continue;
    field.resolve();
    nestedType.push({
      name: mapEntryName(protoName(field)),
      field: [
        { name: 'key', number: 1, label: LABEL_OPTIONAL, ...valueType(field.keyType, null) },
        { name: 'value', number: 2, label: LABEL_OPTIONAL, ...valueType(field.type, field.resolvedType) },
      ],
      options: { mapEntry: true },
    });
  }
  const enumType: PlainDescriptor[] = [];
  const extension: PlainDescriptor[] = [];
  for (const nested of type.nestedArray) {
    if (nested instanceof protobuf.Type) nestedType.push(messageDescriptor(nested, edition));
    else if (nested instanceof protobuf.Enum) enumType.push(enumDescriptor(nested));
    else if (nested instanceof protobuf.Field) extension.push(fieldDescriptor(nested, edition));
  }
  const reserved = ranges(type.reserved, false);
  const descriptor: PlainDescriptor = {
    name: type.name,
    field: own.map((field) => fieldDescriptor(field, edition, oneofIndex)),
    nestedType,
    enumType,
    extension,
    oneofDecl: oneofs.map((oneof) => ({ name: oneof.name })),
    extensionRange: (type.extensions ?? []).map(([start, end]) => ({ start, end: end + 1 })),
    reservedRange: reserved.ranges,
    reservedName: reserved.names,
  };
  const options = optionsOf(type.options, OPTION_NAMES.message);
  if (options !== undefined) descriptor.options = options;
  return descriptor;
}

/** An EnumDescriptorProto (its reserved ranges are inclusive, as descriptor.proto defines them). */
export function enumDescriptor(enumeration: protobuf.Enum): PlainDescriptor {
  const valueOptions = (enumeration as protobuf.Enum & { valuesOptions?: Record<string, Record<string, unknown>> }).valuesOptions ?? {};
  const reserved = ranges(enumeration.reserved, true);
  const descriptor: PlainDescriptor = {
    name: enumeration.name,
    value: Object.entries(enumeration.values).map(([name, number]) => {
      const options = optionsOf(valueOptions[name], OPTION_NAMES.enumValue);
      return options === undefined ? { name, number } : { name, number, options };
    }),
    reservedRange: reserved.ranges,
    reservedName: reserved.names,
  };
  const options = optionsOf(enumeration.options, OPTION_NAMES.enum);
  if (options !== undefined) descriptor.options = options;
  return descriptor;
}

/** A ServiceDescriptorProto with its methods' fully-qualified input and output types. */
export function serviceDescriptor(service: protobuf.Service): PlainDescriptor {
  const descriptor: PlainDescriptor = {
    name: service.name,
    method: service.methodsArray.map((method) => {
      method.resolve();
      const out: PlainDescriptor = {
        name: method.name,
        inputType: method.resolvedRequestType!.fullName,
        outputType: method.resolvedResponseType!.fullName,
      };
      if (method.requestStream === true) out.clientStreaming = true;
      if (method.responseStream === true) out.serverStreaming = true;
      const options = optionsOf(method.options, OPTION_NAMES.method);
      if (options !== undefined) out.options = options;
      return out;
    }),
  };
  const options = optionsOf(service.options, OPTION_NAMES.service);
  if (options !== undefined) descriptor.options = options;
  return descriptor;
}
