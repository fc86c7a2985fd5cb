/**
 * The standard `google.rpc` error detail messages (protos/google/rpc/error_details.proto) as
 * TypeScript types, and the protobufjs schema that encodes them. The schema is built in code from
 * the published field numbers, so no `.proto` file is read at run time.
 */
import protobuf from 'protobufjs';

/** A `google.protobuf.Duration`: whole seconds and the nanoseconds on top (0 to 999 999 999). */
export interface Duration {
  seconds: number;
  nanos: number;
}

/** `google.rpc.ErrorInfo`: why the call failed, as a machine-readable reason in a domain, with context. */
export interface ErrorInfo {
  /** A constant in UPPER_SNAKE_CASE naming the cause, e.g. `API_DISABLED`. */
  reason: string;
  /** The logical grouping the reason belongs to, e.g. `example.com`. */
  domain: string;
  /** Context of the error, e.g. `{ resource: 'projects/123' }`. */
  metadata: Record<string, string>;
}

/** `google.rpc.RetryInfo`: when the client may retry. */
export interface RetryInfo {
  /** How long to wait before retrying; absent when the server gave no delay. */
  retryDelay?: Duration;
}

/** `google.rpc.DebugInfo`: a stack trace and detail, for the developers of the service only. */
export interface DebugInfo {
  stackEntries: string[];
  detail: string;
}

/** One quota check that failed, in a `google.rpc.QuotaFailure`. */
export interface QuotaViolation {
  /** What the quota applies to, e.g. `clientip:203.0.113.1` or `project:example`. */
  subject: string;
  description: string;
}

/** `google.rpc.QuotaFailure`: which quota checks failed. */
export interface QuotaFailure {
  violations: QuotaViolation[];
}

/** One precondition that failed, in a `google.rpc.PreconditionFailure`. */
export interface PreconditionViolation {
  /** A service-specific kind of precondition, e.g. `TOS`. */
  type: string;
  subject: string;
  description: string;
}

/** `google.rpc.PreconditionFailure`: which preconditions failed (typically with FAILED_PRECONDITION). */
export interface PreconditionFailure {
  violations: PreconditionViolation[];
}

/** `google.rpc.LocalizedMessage`: an error message in a locale such as `en-US`. */
export interface LocalizedMessage {
  locale: string;
  message: string;
}

/** One invalid request field, in a `google.rpc.BadRequest`. */
export interface FieldViolation {
  /** A path to the field, e.g. `items[2].name`. */
  field: string;
  description: string;
  /** A constant in UPPER_SNAKE_CASE naming the cause. */
  reason: string;
  localizedMessage?: LocalizedMessage;
}

/** `google.rpc.BadRequest`: which request fields are invalid (typically with INVALID_ARGUMENT). */
export interface BadRequest {
  fieldViolations: FieldViolation[];
}

/** `google.rpc.RequestInfo`: which request this was, for bug reports and support. */
export interface RequestInfo {
  requestId: string;
  servingData: string;
}

/** `google.rpc.ResourceInfo`: the resource the call was about (e.g. the one NOT_FOUND). */
export interface ResourceInfo {
  resourceType: string;
  resourceName: string;
  owner: string;
  description: string;
}

/** One link of a `google.rpc.Help`. */
export interface HelpLink {
  description: string;
  url: string;
}

/** `google.rpc.Help`: links to documentation about the error. */
export interface Help {
  links: HelpLink[];
}

/**
 * The standard detail messages, keyed by their short name: the name after `google.rpc.` in the
 * type URL. `packDetail` and `unpackDetail` work with exactly these.
 */
export interface ErrorDetailTypes {
  BadRequest: BadRequest;
  ErrorInfo: ErrorInfo;
  RetryInfo: RetryInfo;
  DebugInfo: DebugInfo;
  QuotaFailure: QuotaFailure;
  PreconditionFailure: PreconditionFailure;
  ResourceInfo: ResourceInfo;
  Help: Help;
  LocalizedMessage: LocalizedMessage;
  RequestInfo: RequestInfo;
}

/** The short name of a standard detail message, e.g. `'BadRequest'`. */
export type ErrorDetailType = keyof ErrorDetailTypes;

const string = (id: number) => ({ type: 'string', id });
const repeated = (type: string, id: number) => ({ rule: 'repeated', type, id });
const stringMap = (id: number): protobuf.IField => ({ keyType: 'string', type: 'string', id }) as protobuf.IMapField;

/** The protobufjs JSON schema of the detail messages (camelCase field names; the wire format only uses the numbers). */
const schema: protobuf.INamespace = {
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: { Duration: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } } },
        },
        rpc: {
          nested: {
            ErrorInfo: { fields: { reason: string(1), domain: string(2), metadata: stringMap(3) } },
            RetryInfo: { fields: { retryDelay: { type: 'google.protobuf.Duration', id: 1 } } },
            DebugInfo: { fields: { stackEntries: repeated('string', 1), detail: string(2) } },
            QuotaFailure: {
              fields: { violations: repeated('Violation', 1) },
              nested: { Violation: { fields: { subject: string(1), description: string(2) } } },
            },
            PreconditionFailure: {
              fields: { violations: repeated('Violation', 1) },
              nested: { Violation: { fields: { type: string(1), subject: string(2), description: string(3) } } },
            },
            BadRequest: {
              fields: { fieldViolations: repeated('FieldViolation', 1) },
              nested: {
                FieldViolation: {
                  fields: { field: string(1), description: string(2), reason: string(3), localizedMessage: { type: 'LocalizedMessage', id: 4 } },
                },
              },
            },
            RequestInfo: { fields: { requestId: string(1), servingData: string(2) } },
            ResourceInfo: { fields: { resourceType: string(1), resourceName: string(2), owner: string(3), description: string(4) } },
            Help: {
              fields: { links: repeated('Link', 1) },
              nested: { Link: { fields: { description: string(1), url: string(2) } } },
            },
            LocalizedMessage: { fields: { locale: string(1), message: string(2) } },
          },
        },
      },
    },
  },
};

let root: protobuf.Root | undefined;

/** The protobufjs type of a standard detail message, built from the schema on first use. */
export function errorDetailType(name: ErrorDetailType): protobuf.Type {
  if (root === undefined) {
    root = protobuf.Root.fromJSON(schema);
    root.resolveAll();
  }
  return root.lookupType(`google.rpc.${name}`);
}

/** Whether `name` is the short name of a standard detail message. */
export function isErrorDetailType(name: string): name is ErrorDetailType {
  return ERROR_DETAIL_TYPES.includes(name as ErrorDetailType);
}

/** Every standard detail message's short name. */
export const ERROR_DETAIL_TYPES: readonly ErrorDetailType[] = [
  'BadRequest',
  'ErrorInfo',
  'RetryInfo',
  'DebugInfo',
  'QuotaFailure',
  'PreconditionFailure',
  'ResourceInfo',
  'Help',
  'LocalizedMessage',
  'RequestInfo',
];
