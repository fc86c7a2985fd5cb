/**
 * The gRPC service config (grpc/grpc `doc/service_config.md`, gRFC A6) a client may be given:
 * per-method timeouts, waitForReady, message size limits and retry policies, retry throttling
 * and the load-balancing policy. Parsed and validated once, when the client is made.
 */
import { arrayField, booleanField, durationField, fieldError, integerField, objectField, stringField } from './config-fields.js';
import { parseRetryPolicy, type RetryPolicy, type RetryPolicyConfig } from './retry-policy.js';
import { parseRetryThrottling, type RetryThrottlingConfig } from './retry-throttle.js';

/** Which methods a method config applies to: one method, every method of a service, or (empty) every method. */
export interface MethodConfigName {
  /** The full service name, `package.Service`; empty or absent for the default config. */
  service?: string;
  /** The method name as the proto spells it; empty or absent for every method of the service. */
  method?: string;
}

/** One entry of `methodConfig`, as JSON gives it. */
export interface MethodConfigJson {
  /** The methods it applies to; an entry without names applies to none. */
  name?: MethodConfigName[];
  /** A deadline for the call, a Duration like `"1.5s"`, applied when earlier than the call's own. */
  timeout?: string;
  /** The default of the call option `waitForReady` for these methods. */
  waitForReady?: boolean;
  /** A send limit in bytes, applied when lower than the client's `maxSendMessageSize`. */
  maxRequestMessageBytes?: number;
  /** A receive limit in bytes, applied when lower than the client's `maxReceiveMessageSize`. */
  maxResponseMessageBytes?: number;
  /** Retries for failed calls. */
  retryPolicy?: RetryPolicyConfig;
  /** Not supported: a config with a hedging policy is refused. */
  hedgingPolicy?: never;
}

/**
 * A service config, as JSON (the form gRPC clients accept; unknown fields are ignored).
 * `loadBalancingConfig` is a list of `{ policy_name: config }` of which the first supported
 * (`round_robin` or `pick_first`) is chosen; `loadBalancingPolicy` is the older form of the same.
 */
export interface ServiceConfig {
  /** Load-balancing policies in order of preference, `[{ round_robin: {} }]`; the first supported one is used. */
  loadBalancingConfig?: Array<Record<string, object>>;
  /** The older form: `'round_robin'` or `'pick_first'` (any case); `loadBalancingConfig` wins when both are set. */
  loadBalancingPolicy?: string;
  /** Per-method settings; a call takes the entry naming its method, else its service, else the default (`name: [{}]`). */
  methodConfig?: MethodConfigJson[];
  /** Throttling of retries for the whole client. */
  retryThrottling?: RetryThrottlingConfig;
}

/** What a service config says about one method; fields it leaves out are undefined. */
export interface MethodConfig {
  readonly timeoutMs?: number;
  readonly waitForReady?: boolean;
  readonly maxRequestMessageBytes?: number;
  readonly maxResponseMessageBytes?: number;
  readonly retryPolicy?: RetryPolicy;
}

/** The load-balancing policies a service config may choose. */
export type LoadBalancingPolicyName = 'pick_first' | 'round_robin';

const LB_POLICIES: readonly string[] = ['pick_first', 'round_robin'] satisfies LoadBalancingPolicyName[];

const NO_CONFIG: MethodConfig = Object.freeze({});

/** A parsed, validated service config. */
export interface ParsedServiceConfig {
  /** The load-balancing policy the config chooses, if any. */
  readonly loadBalancingPolicy: LoadBalancingPolicyName | undefined;
  /** Retry throttling for the client, if configured. */
  readonly retryThrottling: RetryThrottlingConfig | undefined;
  /**
   * The config of the method at `path` (`/package.Service/Method`): the entry naming the method,
   * else the one naming its service, else the default entry, else an empty config.
   */
  methodConfig(path: string): MethodConfig;
}

function parseMethodConfig(value: unknown, path: string): { names: MethodConfigName[]; config: MethodConfig } {
  const json = objectField(value, path);
  if (json.hedgingPolicy !== undefined) {
    throw fieldError(`${path}.hedgingPolicy`, 'is not supported by this client (hedging is not implemented); use retryPolicy');
  }
  const names = json.name === undefined ? [] : arrayField(json.name, `${path}.name`);
  const config: { -readonly [K in keyof MethodConfig]: MethodConfig[K] } = {};
  if (json.timeout !== undefined) config.timeoutMs = durationField(json.timeout, `${path}.timeout`, true);
  if (json.waitForReady !== undefined) config.waitForReady = booleanField(json.waitForReady, `${path}.waitForReady`);
  if (json.maxRequestMessageBytes !== undefined) config.maxRequestMessageBytes = integerField(json.maxRequestMessageBytes, `${path}.maxRequestMessageBytes`, 0);
  if (json.maxResponseMessageBytes !== undefined) config.maxResponseMessageBytes = integerField(json.maxResponseMessageBytes, `${path}.maxResponseMessageBytes`, 0);
  if (json.retryPolicy !== undefined) config.retryPolicy = parseRetryPolicy(json.retryPolicy, `${path}.retryPolicy`);
  return {
    names: names.map((name, i) => {
      const entry = objectField(name, `${path}.name[${i}]`);
      const service = entry.service === undefined ? '' : stringField(entry.service, `${path}.name[${i}].service`);
      const method = entry.method === undefined ? '' : stringField(entry.method, `${path}.name[${i}].method`);
      if (service === '' && method !== '') throw fieldError(`${path}.name[${i}]`, 'names a method without a service');
      return { service, method };
    }),
    config: Object.freeze(config),
  };
}

function parseLoadBalancing(json: Record<string, unknown>): LoadBalancingPolicyName | undefined {
  if (json.loadBalancingConfig !== undefined) {
    const entries = arrayField(json.loadBalancingConfig, 'loadBalancingConfig');
    const names = entries.map((entry, i) => {
      const keys = Object.keys(objectField(entry, `loadBalancingConfig[${i}]`));
      if (keys.length !== 1) throw fieldError(`loadBalancingConfig[${i}]`, `must have exactly one policy name as its key (got ${keys.length})`);
      return keys[0];
    });
    const chosen = names.find((name) => LB_POLICIES.includes(name));
    if (chosen !== undefined) return chosen as LoadBalancingPolicyName;
    if (names.length > 0) throw fieldError('loadBalancingConfig', `names no supported policy (${names.join(', ')}); supported: ${LB_POLICIES.join(', ')}`);
  }
  if (json.loadBalancingPolicy !== undefined) {
    const name = stringField(json.loadBalancingPolicy, 'loadBalancingPolicy').toLowerCase();
    if (!LB_POLICIES.includes(name)) throw fieldError('loadBalancingPolicy', `must be one of ${LB_POLICIES.join(', ')} (got ${JSON.stringify(json.loadBalancingPolicy)})`);
    return name as LoadBalancingPolicyName;
  }
  return undefined;
}

/**
 * Parses and validates a service config, given as an object or a JSON string. Throws a
 * TypeError naming the offending field (`Invalid service config: methodConfig[0].retryPolicy.maxAttempts
 * must be an integer of at least 2 (got 1)`) for: malformed JSON; a field of the wrong type; a
 * Duration not like `"1.5s"`; a method named without its service; a name listed twice;
 * `retryPolicy` with maxAttempts below 2, a backoff of zero, a multiplier not above 0 or no
 * retryable status codes; `retryThrottling` with maxTokens outside (0, 1000] or tokenRatio not
 * above 0; a `hedgingPolicy` (not supported); an unsupported load-balancing policy.
 * maxAttempts above 5 counts as 5. Unknown fields are ignored.
 */
export function parseServiceConfig(input: ServiceConfig | string): ParsedServiceConfig {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new TypeError(`Invalid service config: not valid JSON (${(error as Error).message})`);
    }
  }
  const json = objectField(value, 'the config');
  const byName = new Map<string, MethodConfig>();
  const entries = json.methodConfig === undefined ? [] : arrayField(json.methodConfig, 'methodConfig');
  entries.forEach((entry, i) => {
    const { names, config } = parseMethodConfig(entry, `methodConfig[${i}]`);
    for (const { service, method } of names) {
      const key = `${service}/${method}`;
      if (byName.has(key)) throw fieldError(`methodConfig[${i}].name`, `repeats the name ${JSON.stringify({ service, method })}: each name may appear once`);
      byName.set(key, config);
    }
  });
  return {
    loadBalancingPolicy: parseLoadBalancing(json),
    retryThrottling: json.retryThrottling === undefined ? undefined : parseRetryThrottling(json.retryThrottling, 'retryThrottling'),
    methodConfig(path: string): MethodConfig {
      const slash = path.lastIndexOf('/');
      const service = path.slice(1, slash);
      return byName.get(`${service}/${path.slice(slash + 1)}`) ?? byName.get(`${service}/`) ?? byName.get('/') ?? NO_CONFIG;
    },
  };
}
