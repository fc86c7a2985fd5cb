/**
 * Command-line flags as the gRPC interop programs take them: `--name=value`, `--name value`, or
 * a bare `--name` meaning true. Unknown flags are errors, so a typo cannot silently change a run.
 */

/** One flag's declaration: its kind and default. */
export interface FlagSpec {
  type: 'string' | 'number' | 'boolean';
  default?: string | number | boolean;
  /** One line for `--help`. */
  help: string;
}

/** The parsed value of each declared flag (undefined when absent and without default). */
export type FlagValues<S extends Record<string, FlagSpec>> = {
  [K in keyof S]: S[K]['type'] extends 'number' ? number : S[K]['type'] extends 'boolean' ? boolean : string;
};

/** Thrown for a malformed command line; its message is meant for the user. */
export class UsageError extends Error {}

function convert(name: string, spec: FlagSpec, raw: string): string | number | boolean {
  if (spec.type === 'string') return raw;
  if (spec.type === 'number') {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--${name} takes a number, not ${JSON.stringify(raw)}`);
    return value;
  }
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new UsageError(`--${name} takes true or false, not ${JSON.stringify(raw)}`);
}

/**
 * Parses `argv` against `specs`. Throws UsageError for an unknown flag, a missing or malformed
 * value, or a positional argument. `--help` is reported as `help: true`.
 */
export function parseFlags<S extends Record<string, FlagSpec>>(argv: readonly string[], specs: S): FlagValues<S> & { help: boolean } {
  const values: Record<string, string | number | boolean | undefined> = { help: false };
  for (const [name, spec] of Object.entries(specs)) values[name] = spec.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      values.help = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new UsageError(`Unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = specs[name];
    if (spec === undefined) throw new UsageError(`Unknown flag --${name}`);
    let raw: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    if (raw === undefined) {
      const next = argv[i + 1];
      if (spec.type === 'boolean' && (next === undefined || !['true', 'false', '1', '0'].includes(next))) raw = 'true';
      else if (next === undefined || next.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      else raw = argv[++i];
    }
    values[name] = convert(name, spec, raw);
  }
  return values as FlagValues<S> & { help: boolean };
}

/** The `--help` text: one line per flag with its default. */
export function usage(command: string, specs: Record<string, FlagSpec>): string {
  const lines = [`Usage: ${command} [--flag=value]...`];
  for (const [name, spec] of Object.entries(specs)) {
    const fallback = spec.default === undefined ? '' : ` (default ${String(spec.default)})`;
    lines.push(`  --${name}: ${spec.help}${fallback}`);
  }
  return lines.join('\n');
}
