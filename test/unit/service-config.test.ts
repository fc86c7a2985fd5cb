/**
 * The service config parser: Durations (property-tested), method config matching most
 * specific first, retry policy and throttling validation, load-balancing choice, and a
 * TypeError naming the field for every invalid input.
 */
import fc from 'fast-check';
import { durationField } from '../../lib/client/config-fields.js';
import { pushbackOf, RetryBackoff, type RetryPolicyConfig } from '../../lib/client/retry-policy.js';
import { RetryThrottle } from '../../lib/client/retry-throttle.js';
import { parseServiceConfig, type ServiceConfig } from '../../lib/client/service-config.js';
import { Status } from '../../lib/protocol/status.js';

const MAX_SECONDS = 315_576_000_000;

const RETRY: RetryPolicyConfig = { maxAttempts: 3, initialBackoff: '0.1s', maxBackoff: '1s', backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE'] };

describe('Durations', () => {
  it('any seconds with 0 to 9 decimals parse to the exact milliseconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_SECONDS }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 999_999_999 }), (seconds, digits, nanos) => {
        const fraction = String(nanos).padStart(9, '0').slice(0, digits);
        const text = digits === 0 ? `${seconds}s` : `${seconds}.${fraction}s`;
        const expected = seconds * 1000 + Number(fraction.padEnd(9, '0')) / 1e6;
        expect(durationField(text, 'x', true)).toBe(expected);
      }),
    );
  });

  it('a leading dot and -0 are accepted: ".1s" is 100 ms', () => {
    expect(durationField('.1s', 'x', false)).toBe(100);
    expect(durationField('-0s', 'x', true)).toBe(0);
    expect(durationField('0.000000001s', 'x', false)).toBe(1e-6);
  });

  it('anything that is not digits, an optional 1-9 digit fraction and "s" is refused with the field named', () => {
    const valid = /^-?\d*(?:\.\d{1,9})?s$/;
    fc.assert(
      fc.property(fc.string({ maxLength: 14, unit: fc.constantFrom(...'0123456789.s-ms +eE'.split('')) }), (text) => {
        fc.pre(!valid.test(text) || text === 's' || text === '-s');
        expect(() => durationField(text, 'methodConfig[0].timeout', true)).toThrow(/^Invalid service config: methodConfig\[0\]\.timeout must be a duration/);
      }),
    );
  });

  it.each([
    ['1.5', /duration/],
    [1.5, /duration/],
    ['1.0000000001s', /duration/],
    ['1m', /duration/],
    ['-1s', /not be negative/],
    ['-0.5s', /not be negative/],
    [`${MAX_SECONDS + 1}s`, /at most/],
  ])('%j is refused (%s)', (value, problem) => {
    expect(() => durationField(value, 'f', true)).toThrow(TypeError);
    expect(() => durationField(value, 'f', true)).toThrow(problem);
  });

  it('zero is refused where the field must be positive', () => {
    expect(() => durationField('0s', 'retryPolicy.initialBackoff', false)).toThrow('retryPolicy.initialBackoff must be greater than 0s');
    expect(durationField('0s', 'timeout', true)).toBe(0);
  });
});

describe('method configs', () => {
  const config = parseServiceConfig({
    methodConfig: [
      { name: [{}], timeout: '10s' },
      { name: [{ service: 'pkg.Svc' }], waitForReady: true, maxRequestMessageBytes: 100 },
      { name: [{ service: 'pkg.Svc', method: 'Get' }, { service: 'other.Svc', method: 'Put' }], timeout: '1.5s', retryPolicy: RETRY },
    ],
  });

  it('the most specific name wins: method, then service, then the default', () => {
    expect(config.methodConfig('/pkg.Svc/Get')).toMatchObject({ timeoutMs: 1500, retryPolicy: { maxAttempts: 3 } });
    expect(config.methodConfig('/pkg.Svc/Get').waitForReady).toBeUndefined();
    expect(config.methodConfig('/other.Svc/Put').timeoutMs).toBe(1500);
    expect(config.methodConfig('/pkg.Svc/List')).toEqual({ waitForReady: true, maxRequestMessageBytes: 100 });
    expect(config.methodConfig('/third.Svc/Any')).toEqual({ timeoutMs: 10_000 });
  });

  it('without a default entry, an unnamed method gets an empty config', () => {
    const only = parseServiceConfig({ methodConfig: [{ name: [{ service: 'a.B', method: '' }], timeout: '1s' }] });
    expect(only.methodConfig('/a.B/C').timeoutMs).toBe(1000);
    expect(only.methodConfig('/x.Y/C')).toEqual({});
    expect(parseServiceConfig({}).methodConfig('/x.Y/C')).toEqual({});
  });

  it('a JSON string is accepted; unknown fields are ignored', () => {
    const parsed = parseServiceConfig(JSON.stringify({ healthCheckConfig: { serviceName: 'x' }, methodConfig: [{ name: [{ service: 'a.B' }], timeout: '2s', future: 1 }] }));
    expect(parsed.methodConfig('/a.B/C').timeoutMs).toBe(2000);
  });

  it('a retry policy: codes by name or number, maxAttempts above 5 counts as 5', () => {
    const parsed = parseServiceConfig({
      methodConfig: [{ name: [{}], retryPolicy: { ...RETRY, maxAttempts: 9, retryableStatusCodes: ['UNAVAILABLE', 10, 'RESOURCE_EXHAUSTED'] } }],
    });
    const policy = parsed.methodConfig('/a.B/C').retryPolicy!;
    expect(policy.maxAttempts).toBe(5);
    expect(policy.initialBackoffMs).toBe(100);
    expect(policy.maxBackoffMs).toBe(1000);
    expect([...policy.retryableStatusCodes]).toEqual([Status.UNAVAILABLE, Status.ABORTED, Status.RESOURCE_EXHAUSTED]);
  });
});

describe('invalid configs throw a TypeError naming the field', () => {
  const withPolicy = (patch: object): ServiceConfig => ({ methodConfig: [{ name: [{}], retryPolicy: { ...RETRY, ...patch } as never }] });
  it.each<[string, ServiceConfig | string, string]>([
    ['malformed JSON', '{"methodConfig": [', 'not valid JSON'],
    ['not an object', '[1]', 'the config must be an object'],
    ['methodConfig not an array', { methodConfig: {} as never }, 'methodConfig must be an array'],
    ['a method without a service', { methodConfig: [{ name: [{ method: 'Get' }] }] }, 'methodConfig[0].name[0] names a method without a service'],
    ['a name twice', { methodConfig: [{ name: [{ service: 'a.B' }] }, { name: [{ service: 'a.B' }] }] }, 'methodConfig[1].name repeats the name'],
    ['two defaults', { methodConfig: [{ name: [{}] }, { name: [{ service: '' }] }] }, 'methodConfig[1].name repeats the name'],
    ['a service that is not a string', { methodConfig: [{ name: [{ service: 5 as never }] }] }, 'methodConfig[0].name[0].service must be a string'],
    ['a bad timeout', { methodConfig: [{ name: [{}], timeout: '10' }] }, 'methodConfig[0].timeout must be a duration'],
    ['waitForReady not boolean', { methodConfig: [{ name: [{}], waitForReady: 'yes' as never }] }, 'methodConfig[0].waitForReady must be true or false'],
    ['a negative size', { methodConfig: [{ name: [{}], maxResponseMessageBytes: -1 }] }, 'methodConfig[0].maxResponseMessageBytes must be an integer of at least 0'],
    ['maxAttempts 1', withPolicy({ maxAttempts: 1 }), 'methodConfig[0].retryPolicy.maxAttempts must be an integer of at least 2 (got 1)'],
    ['maxAttempts 2.5', withPolicy({ maxAttempts: 2.5 }), 'retryPolicy.maxAttempts must be an integer'],
    ['initialBackoff 0s', withPolicy({ initialBackoff: '0s' }), 'retryPolicy.initialBackoff must be greater than 0s'],
    ['maxBackoff missing', withPolicy({ maxBackoff: undefined }), 'retryPolicy.maxBackoff must be a duration'],
    ['multiplier 0', withPolicy({ backoffMultiplier: 0 }), 'retryPolicy.backoffMultiplier must be a number greater than 0'],
    ['no codes', withPolicy({ retryableStatusCodes: [] }), 'retryPolicy.retryableStatusCodes must name at least one status code'],
    ['an unknown code name', withPolicy({ retryableStatusCodes: ['UNAVAILABLE', 'unavailable'] }), 'retryPolicy.retryableStatusCodes[1] must be a status code name'],
    ['a code out of range', withPolicy({ retryableStatusCodes: [17] }), 'retryPolicy.retryableStatusCodes[0] must be a status code'],
    ['hedging', { methodConfig: [{ name: [{}], hedgingPolicy: { maxAttempts: 2 } as never }] }, 'methodConfig[0].hedgingPolicy is not supported'],
    ['maxTokens 0', { retryThrottling: { maxTokens: 0, tokenRatio: 0.1 } }, 'retryThrottling.maxTokens must be a number greater than 0 and at most 1000'],
    ['maxTokens 1001', { retryThrottling: { maxTokens: 1001, tokenRatio: 0.1 } }, 'retryThrottling.maxTokens must be a number greater than 0 and at most 1000'],
    ['tokenRatio 0', { retryThrottling: { maxTokens: 10, tokenRatio: 0 } }, 'retryThrottling.tokenRatio must be a number greater than 0'],
    ['tokenRatio below 0.001', { retryThrottling: { maxTokens: 10, tokenRatio: 0.0001 } }, 'retryThrottling.tokenRatio must be at least 0.001'],
    ['an unknown LB policy', { loadBalancingPolicy: 'grpclb' }, 'loadBalancingPolicy must be one of pick_first, round_robin'],
    ['no supported LB config', { loadBalancingConfig: [{ grpclb: {} }] }, 'loadBalancingConfig names no supported policy (grpclb)'],
    ['an LB config with two keys', { loadBalancingConfig: [{ a: {}, b: {} }] }, 'loadBalancingConfig[0] must have exactly one policy name'],
  ])('%s', (_name, input, message) => {
    expect(() => parseServiceConfig(input)).toThrow(TypeError);
    expect(() => parseServiceConfig(input)).toThrow(/^Invalid service config: /);
    expect(() => parseServiceConfig(input)).toThrow(message);
  });
});

describe('load balancing', () => {
  it('the first supported entry of loadBalancingConfig wins over loadBalancingPolicy', () => {
    expect(parseServiceConfig({ loadBalancingConfig: [{ grpclb: {} }, { round_robin: {} }, { pick_first: {} }], loadBalancingPolicy: 'pick_first' }).loadBalancingPolicy).toBe('round_robin');
    expect(parseServiceConfig({ loadBalancingPolicy: 'ROUND_ROBIN' }).loadBalancingPolicy).toBe('round_robin');
    expect(parseServiceConfig({}).loadBalancingPolicy).toBeUndefined();
  });
});

describe('backoff, pushback and throttling', () => {
  const policy = parseServiceConfig({ methodConfig: [{ name: [{}], retryPolicy: { ...RETRY, initialBackoff: '1s', maxBackoff: '5s', backoffMultiplier: 3 } }] }).methodConfig('/a.B/C').retryPolicy!;

  it('the n-th retry waits between 0 and min(initial × multiplier^(n-1), max); pushback resets the ceiling', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: undefined }), { maxLength: 8 }), (pushbacks) => {
        const backoff = new RetryBackoff(policy);
        let ceiling = 1000;
        for (const pushback of pushbacks) {
          const delay = backoff.nextDelayMs(pushback);
          if (pushback !== undefined) {
            expect(delay).toBe(pushback);
            ceiling = 1000;
          } else {
            expect(delay).toBeGreaterThanOrEqual(0);
            expect(delay).toBeLessThan(ceiling);
            ceiling = Math.min(ceiling * 3, 5000);
          }
        }
      }),
    );
  });

  it.each([
    [undefined, undefined],
    ['0', 0],
    ['250', 250],
    [['30', '40'], 30],
    ['2147483647', 2147483647],
    ['2147483648', 'stop'],
    ['-1', 'stop'],
    ['007', 'stop'],
    ['1.5', 'stop'],
    ['soon', 'stop'],
    ['', 'stop'],
  ])('pushback %j is %j', (value, expected) => {
    expect(pushbackOf(value)).toBe(expected);
  });

  it('throttling: failures take a token each, successes give tokenRatio back; retries only above maxTokens/2', () => {
    const throttle = new RetryThrottle({ maxTokens: 4, tokenRatio: 0.5 });
    expect(throttle.allowsRetry).toBe(true);
    throttle.failed();
    expect(throttle.allowsRetry).toBe(true); // 3 > 2
    throttle.failed();
    expect(throttle.allowsRetry).toBe(false); // 2 is not above 2
    for (let i = 0; i < 10; i++) throttle.failed(); // never below 0
    throttle.succeeded();
    throttle.succeeded();
    throttle.succeeded();
    throttle.succeeded();
    expect(throttle.allowsRetry).toBe(false); // 2
    throttle.succeeded();
    expect(throttle.allowsRetry).toBe(true); // 2.5
    for (let i = 0; i < 10; i++) throttle.succeeded(); // never above 4
    throttle.failed();
    throttle.failed();
    expect(throttle.allowsRetry).toBe(false);
  });
});
