/**
 * Keeps README's TypeScript examples equal to compiled, tested code. An example lives in a file
 * under sample/readme/ between `// #region name` and `// #endregion`; README shows it in a
 * fenced ```ts block right after `<!-- example: sample/readme/file.ts#name -->`. `npm run
 * readme` rewrites the blocks from the files; `npm run readme -- --check` (and
 * test/readme/readme-sync.test.ts) fails on any ```ts block without a marker, a marker naming
 * no region, or a block that differs from its region.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const REGION_START = /^\s*\/\/ #region (\S+)\s*$/;
const REGION_END = /^\s*\/\/ #endregion\b/;
const MARKER = /^<!-- example: (\S+?)#(\S+) -->$/;
const FENCE = /^(`{3,}|~{3,})(.*)$/;
const TS_LANGUAGES = new Set(['ts', 'typescript', 'tsx']);

/** One problem found in README, with its 1-based line. */
export interface ReadmeProblem {
  line: number;
  message: string;
}

/** The outcome of syncing README: its text with every marked block rewritten, and what could not be fixed. */
export interface SyncResult {
  text: string;
  problems: ReadmeProblem[];
  /** The blocks whose content changed, as `file#region`. */
  changed: string[];
}

/** Removes the indentation common to every non-blank line; blank lines become empty. */
export function dedent(lines: readonly string[]): string[] {
  const indents = lines.filter((line) => line.trim() !== '').map((line) => /^ */.exec(line)![0].length);
  const common = indents.length === 0 ? 0 : Math.min(...indents);
  return lines.map((line) => (line.trim() === '' ? '' : line.slice(common)));
}

/**
 * The regions of a source file, by name: the lines between `// #region name` and the matching
 * `// #endregion`, dedented, without the marker lines of regions nested inside. Throws on an
 * unclosed or unopened region and on a name used twice.
 */
export function regionsOf(source: string): Map<string, string> {
  const open: Array<{ name: string; lines: string[] }> = [];
  const regions = new Map<string, string>();
  source.split('\n').forEach((line, index) => {
    const start = REGION_START.exec(line);
    if (start !== null) {
      if (regions.has(start[1]) || open.some((region) => region.name === start[1])) throw new Error(`line ${index + 1}: region ${start[1]} defined twice`);
      open.push({ name: start[1], lines: [] });
      return;
    }
    if (REGION_END.test(line)) {
      const region = open.pop();
      if (region === undefined) throw new Error(`line ${index + 1}: #endregion without #region`);
      regions.set(region.name, dedent(region.lines).join('\n'));
      return;
    }
    for (const region of open) region.lines.push(line);
  });
  if (open.length > 0) throw new Error(`region ${open[open.length - 1].name} is not closed`);
  return regions;
}

/**
 * Rewrites every marked block of `readme` with its region, read through `readSource` (a path
 * relative to the README's folder). Unmarked TypeScript blocks, markers not followed by a fence,
 * unknown files and regions are problems; other languages are left alone.
 */
export function syncReadme(readme: string, readSource: (file: string) => string): SyncResult {
  const lines = readme.split('\n');
  const out: string[] = [];
  const problems: ReadmeProblem[] = [];
  const changed: string[] = [];
  const sources = new Map<string, Map<string, string> | Error>();
  const regionsIn = (file: string): Map<string, string> | Error => {
    if (!sources.has(file)) {
      try {
        sources.set(file, regionsOf(readSource(file)));
      } catch (error) {
        sources.set(file, error instanceof Error ? error : new Error(String(error)));
      }
    }
    return sources.get(file)!;
  };

  for (let i = 0; i < lines.length; i++) {
    const fence = FENCE.exec(lines[i]);
    if (fence === null) {
      out.push(lines[i]);
      continue;
    }
    const close = lines.findIndex((line, j) => j > i && line.startsWith(fence[1]) && line.trim() === fence[1]);
    const end = close === -1 ? lines.length : close;
    const language = fence[2].trim().split(/\s+/)[0].toLowerCase();
    const marker = i > 0 ? MARKER.exec(lines[i - 1].trim()) : null;
    const body = lines.slice(i + 1, end);
    if (close === -1) problems.push({ line: i + 1, message: 'code block is never closed' });
    if (marker === null) {
      if (TS_LANGUAGES.has(language)) problems.push({ line: i + 1, message: `\`\`\`${language} block without an <!-- example: sample/readme/file.ts#region --> marker on the line before` });
      out.push(...lines.slice(i, end + 1));
      i = end;
      continue;
    }
    const [, file, name] = marker;
    const regions = regionsIn(file);
    const region = regions instanceof Error ? undefined : regions.get(name);
    if (region === undefined) {
      const why = regions instanceof Error ? regions.message : `it has no region ${name}`;
      problems.push({ line: i, message: `example marker names ${file}#${name}, but ${why}` });
      out.push(...lines.slice(i, end + 1));
    } else {
      if (body.join('\n') !== region) changed.push(`${file}#${name}`);
      out.push(lines[i], ...region.split('\n'), ...(close === -1 ? [] : [lines[end]]));
    }
    i = end;
  }
  lines.forEach((line, index) => {
    if (MARKER.test(line.trim()) && !FENCE.test(lines[index + 1] ?? '')) problems.push({ line: index + 1, message: 'example marker not followed by a fenced code block' });
  });
  return { text: out.join('\n'), problems, changed };
}

/** `node dist/scripts/readme-examples.js [--check] [README.md]`: rewrites README (or only checks it); exits 1 on problems. */
function main(args: string[]): number {
  const check = args.includes('--check');
  const readmePath = path.resolve(args.find((arg) => !arg.startsWith('--')) ?? 'README.md');
  const folder = path.dirname(readmePath);
  const readme = readFileSync(readmePath, 'utf8');
  const result = syncReadme(readme, (file) => readFileSync(path.join(folder, file), 'utf8'));
  const name = path.relative(process.cwd(), readmePath);
  for (const problem of result.problems) console.error(`${name}:${problem.line}: ${problem.message}`);
  if (check) {
    for (const example of result.changed) console.error(`${name}: the block of ${example} differs from the file (npm run readme rewrites it)`);
    return result.problems.length > 0 || result.changed.length > 0 ? 1 : 0;
  }
  if (result.text !== readme) writeFileSync(readmePath, result.text);
  console.log(result.changed.length === 0 ? `${name}: every example is up to date` : `${name}: rewrote ${result.changed.join(', ')}`);
  return result.problems.length > 0 ? 1 : 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
