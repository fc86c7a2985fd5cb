/**
 * README's TypeScript blocks are the regions of sample/readme/ files (scripts/readme-examples.ts):
 * the region parser, the sync, and README itself.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { dedent, regionsOf, syncReadme } from '../../scripts/readme-examples.js';

const fence = '```';

describe('regionsOf', () => {
  it('reads regions, dedented, without the markers of nested ones', () => {
    const source = ['a', '  // #region outer', '  x()', '    // #region inner', '    y()', '    // #endregion', '  // #endregion', 'b'].join('\n');
    expect(regionsOf(source)).toEqual(
      new Map([
        ['inner', 'y()'],
        ['outer', 'x()\n  y()'],
      ]),
    );
  });

  it('refuses unclosed, unopened and repeated regions', () => {
    expect(() => regionsOf('// #region a\nx')).toThrow('region a is not closed');
    expect(() => regionsOf('x\n// #endregion')).toThrow('line 2: #endregion without #region');
    expect(() => regionsOf('// #region a\n// #endregion\n// #region a\n// #endregion')).toThrow('line 3: region a defined twice');
  });

  it('dedents by the smallest indentation of non-blank lines and empties blank ones', () => {
    expect(dedent(['    a', '  ', '      b'])).toEqual(['a', '', '  b']);
  });
});

describe('syncReadme', () => {
  const files: Record<string, string> = { 'ex.ts': '// #region one\nconst one = 1;\n// #endregion\n// #region two\n  two();\n// #endregion\n' };
  const read = (file: string): string => {
    if (!(file in files)) throw new Error(`ENOENT: ${file}`);
    return files[file];
  };

  it('rewrites marked blocks from their regions and leaves other languages alone', () => {
    const readme = ['# T', '<!-- example: ex.ts#one -->', `${fence}ts`, 'stale', `${fence}`, '', `${fence}sh`, 'npm test', `${fence}`, ''].join('\n');
    const result = syncReadme(readme, read);
    expect(result.problems).toEqual([]);
    expect(result.changed).toEqual(['ex.ts#one']);
    expect(result.text).toBe(readme.replace('stale', 'const one = 1;'));
    expect(syncReadme(result.text, read)).toEqual({ text: result.text, problems: [], changed: [] });
  });

  it('reports unmarked ts blocks, unknown regions and files, and markers without a block', () => {
    const readme = [`${fence}ts`, 'x', fence, '<!-- example: ex.ts#three -->', `${fence}ts`, fence, '<!-- example: none.ts#one -->', `${fence}typescript`, fence, '<!-- example: ex.ts#one -->', 'text'].join('\n');
    expect(syncReadme(readme, read).problems).toEqual([
      { line: 1, message: '```ts block without an <!-- example: sample/readme/file.ts#region --> marker on the line before' },
      { line: 4, message: 'example marker names ex.ts#three, but it has no region three' },
      { line: 7, message: 'example marker names none.ts#one, but ENOENT: none.ts' },
      { line: 10, message: 'example marker not followed by a fenced code block' },
    ]);
  });

  it('property: after a sync every marked block equals its region, and a second sync changes nothing', () => {
    const line = fc.stringMatching(/^[ a-z(){};=']{0,30}$/);
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), fc.array(line, { maxLength: 4 }), (region, stale) => {
        const source = `// #region r\n${region.join('\n')}\n// #endregion\n`;
        const readme = ['intro', '<!-- example: f.ts#r -->', `${fence}ts`, ...stale, fence, 'outro'].join('\n');
        const first = syncReadme(readme, () => source);
        expect(first.problems).toEqual([]);
        const lines = first.text.split('\n');
        expect(lines.slice(3, lines.length - 2).join('\n')).toBe(dedent(region).join('\n'));
        expect(syncReadme(first.text, () => source)).toEqual({ text: first.text, problems: [], changed: [] });
      }),
    );
  });
});

describe('README.md', () => {
  it('shows every TypeScript example from a sample/readme file, unchanged (npm run readme rewrites them)', () => {
    const result = syncReadme(readFileSync('README.md', 'utf8'), (file) => readFileSync(path.join('.', file), 'utf8'));
    expect(result.problems).toEqual([]);
    expect(result.changed).toEqual([]);
  });

  it('takes its examples only from sample/readme', () => {
    const markers = [...readFileSync('README.md', 'utf8').matchAll(/<!-- example: (\S+?)#/g)].map((match) => match[1]);
    expect(markers.filter((file) => !file.startsWith('sample/readme/'))).toEqual([]);
  });
});
