/** The naming rule that lets a camelCase member stand for an RPC: `unary_unary` ~ `unaryUnary`, `SayHello` ~ `sayHello`. */

/** The camelCase form of an RPC name: `unary_unary` → `unaryUnary`, `SayHello` → `sayHello`. */
export function camelCase(name: string): string {
  const joined = name.replace(/_+([a-zA-Z0-9])/g, (_, letter: string) => letter.toUpperCase());
  return joined.charAt(0).toLowerCase() + joined.slice(1);
}
