import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../lib/cli/run-cli.js';
import { generateTypes } from '../../lib/codegen/generate-types.js';
import { loadProtoRoot } from '../../lib/protocol/load-stub.js';

function expectInSync(protoFile: string, folder: string, importFrom: string): void {
  const files = generateTypes(loadProtoRoot(protoFile), { sources: [protoFile], importFrom });
  expect(readdirSync(folder).sort()).toEqual(files.map((file) => file.path).sort());
  for (const file of files) expect(readFileSync(path.join(folder, file.path), 'utf8')).toBe(file.content);
}

describe('generateTypes', () => {
  it('sample/generated is what `npm run generate` makes of protos/example.proto', () => {
    expectInSync('protos/example.proto', 'sample/generated', '../../lib/core.js');
  });

  it('test/fixtures/generated is in sync with test/fixtures/protos/rich.proto', () => {
    expectInSync('test/fixtures/protos/rich.proto', 'test/fixtures/generated', '../../../lib/core.js');
  });

  it('types every kind of field as the default object conversion presents it', () => {
    const [, rich] = generateTypes(loadProtoRoot('test/fixtures/protos/rich.proto'), { sources: ['rich.proto'] });
    expect(rich.path).toBe('fixtures.rich.ts');
    expect(rich.content).toContain('id: string;');
    expect(rich.content).toContain('payload: Buffer;');
    expect(rich.content).toContain('labels: Item_Label[];');
    expect(rich.content).toContain('counts: Record<string, number>;');
    expect(rich.content).toContain('source?: "url" | "inline_data";');
    expect(rich.content).toContain('created: google_protobuf.Timestamp | null;');
    expect(rich.content).toContain('export type Colour = "COLOUR_UNSPECIFIED" | "RED" | "GREEN";');
    expect(rich.content).toContain('List: MethodDescriptor<google_protobuf.Empty, Item, false, true>;');
    expect(rich.content).toContain("from 'nestjs-grpc-transport/core'");
  });
});

describe('the generate command', () => {
  it('writes the modules into --out', () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'generate-'));
    try {
      expect(runCli(['generate', 'protos/example.proto', '--out', out])).toBe(0);
      expect(readdirSync(out).sort()).toEqual(['descriptor.ts', 'nameko.ts']);
      const nameko = readFileSync(path.join(out, 'nameko.ts'), 'utf8');
      expect(nameko).toContain('export const exampleStub = stubFromJSON<{');
      expect(nameko).toContain("import { type MethodDescriptor, stubFromJSON } from 'nestjs-grpc-transport/core';");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('answers bad arguments with the usage and exit code 2', () => {
    expect(runCli(['generate', 'protos/example.proto'])).toBe(2);
    expect(runCli(['frobnicate'])).toBe(2);
  });
});
