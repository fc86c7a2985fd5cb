/** Finding the function that implements an RPC on a user's implementation object. */
import type { CallHandler } from './server-call.js';

/** `unary_unary` → `unaryUnary`, `SayHello` → `sayHello`: the camelCase form of an RPC name. */
export function camelCase(name: string): string {
  const joined = name.replace(/_+([a-zA-Z0-9])/g, (_, letter: string) => letter.toUpperCase());
  return joined.charAt(0).toLowerCase() + joined.slice(1);
}

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
