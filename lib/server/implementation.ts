/** Finding the function that implements an RPC on a user's implementation object. */
import { camelCase } from '../protocol/method-name.js';
import type { CallHandler } from './call-init.js';

/**
 * The handler for RPC `name` on `implementation`: its method named exactly so, or its camelCase
 * form, bound to the object. Undefined when neither is a function.
 */
export function implementationFor(implementation: object, name: string): CallHandler | undefined {
  const target = implementation as Record<string, unknown>;
  for (const key of [name, camelCase(name)]) {
    const candidate = target[key];
    if (typeof candidate === 'function') return candidate.bind(implementation) as CallHandler;
  }
  return undefined;
}
