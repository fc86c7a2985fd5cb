/**
 * The standard `google.rpc` error detail messages (protos/google/rpc/error_details.proto) as
 * TypeScript types, and the protobufjs schema that encodes them. The schema is built in code from
 * the published field numbers, so no `.proto` file is read at run time.
 */
import protobuf from 'protobufjs';

/** A `google.protobuf.Duration`: whole seconds and the nanoseconds on top (0 to 999 999 999). */
export interface Duration {
  /** Whole seconds (may be negative for a negative duration). */
  seconds: number;
  /** Nanoseconds on top of `seconds`, 0 to 999 999 999 (of the same sign for a negative duration). */
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
  /** The stack trace, one frame a line. */
  stackEntries: string[];
  /** Any other debugging information, such as the error's message. */
  detail: string;
}

/** One quota check that failed, in a `google.rpc.QuotaFailure`. */
export interface QuotaViolation {
  /** What the quota applies to, e.g. `clientip:203.0.113.1` or `project:example`. */
  subject: string;
  /** Why the check failed and how to get more quota, for a developer to read. */
  description: string;
}

/** `google.rpc.QuotaFailure`: which quota checks failed. */
export interface QuotaFailure {
  /** Each failed quota check. */
  violations: QuotaViolation[];
}

/** One precondition that failed, in a `google.rpc.PreconditionFailure`. */
export interface PreconditionViolation {
  /** A service-specific kind of precondition, e.g. `TOS`. */
  type: string;
  /** What failed the check, relative to the type, e.g. `example.com/terms-of-service`. */
  subject: string;
  /** How the precondition failed and how to fix it, for a developer to read. */
  description: string;
}

/** `google.rpc.PreconditionFailure`: which preconditions failed (typically with FAILED_PRECONDITION). */
export interface PreconditionFailure {
  /** Each failed precondition. */
  violations: PreconditionViolation[];
}

/** `google.rpc.LocalizedMessage`: an error message in a locale such as `en-US`. */
export interface LocalizedMessage {
  /** A BCP 47 locale tag, e.g. `en-US` or `fr-CH`. */
  locale: string;
  /** The message in that locale. */
  message: string;
}

/** One invalid request field, in a `google.rpc.BadRequest`. */
export interface FieldViolation {
  /** A path to the field, e.g. `items[2].name`. */
  field: string;
  /** Why the field is invalid, for a developer to read. */
  description: string;
  /** A constant in UPPER_SNAKE_CASE naming the cause. */
  reason: string;
  /** The reason in the user's language, when the server has one. */
  localizedMessage?: LocalizedMessage;
}

/** `google.rpc.BadRequest`: which request fields are invalid (typically with INVALID_ARGUMENT). */
export interface BadRequest {
  /** Each invalid field. */
  fieldViolations: FieldViolation[];
}

/** `google.rpc.RequestInfo`: which request this was, for bug reports and support. */
export interface RequestInfo {
  /** An opaque id of this request in the service's logs. */
  requestId: string;
  /** Anything else the service needs to find the request, such as a stack trace or the serving host. */
  servingData: string;
}

/** `google.rpc.ResourceInfo`: the resource the call was about (e.g. the one NOT_FOUND). */
export interface ResourceInfo {
  /** The kind of resource, e.g. `sql table` or a type URL such as `type.googleapis.com/pubsub.v1.Topic`. */
  resourceType: string;
  /** The resource's name, e.g. a table or topic name. */
  resourceName: string;
  /** The resource's owner, when that helps (e.g. `user:alice@example.com`); may be empty. */
  owner: string;
  /** What went wrong with the resource, e.g. that the caller lacks permission on it. */
  description: string;
}

/** One link of a `google.rpc.Help`. */
export interface HelpLink {
  /** What the link is about. */
  description: string;
  /** The link's address. */
  url: string;
}

/** `google.rpc.Help`: links to documentation about the error. */
export interface Help {
  /** The links, most useful first. */
  links: HelpLink[];
}

/**
 * The standard detail messages, keyed by their short name: the name after `google.rpc.` in the
 * type URL. `packDetail` and `unpackDetail` work with exactly these.
 */
export interface ErrorDetailTypes {
  /** `google.rpc.BadRequest`. */
  BadRequest: BadRequest;
  /** `google.rpc.ErrorInfo`. */
  ErrorInfo: ErrorInfo;
  /** `google.rpc.RetryInfo`. */
  RetryInfo: RetryInfo;
  /** `google.rpc.DebugInfo`. */
  DebugInfo: DebugInfo;
  /** `google.rpc.QuotaFailure`. */
  QuotaFailure: QuotaFailure;
  /** `google.rpc.PreconditionFailure`. */
  PreconditionFailure: PreconditionFailure;
  /** `google.rpc.ResourceInfo`. */
  ResourceInfo: ResourceInfo;
  /** `google.rpc.Help`. */
  Help: Help;
  /** `google.rpc.LocalizedMessage`. */
  LocalizedMessage: LocalizedMessage;
  /** `google.rpc.RequestInfo`. */
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
