import { readFileSync } from 'node:fs';
import { DEFAULT_USER_AGENT } from '../../lib/protocol/headers.js';
import { VERSION } from '../../lib/protocol/version.js';

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };

describe('VERSION', () => {
  it("equals package.json's version", () => {
    expect(VERSION).toBe(packageJson.version);
  });

  it('is what the default user-agent reports', () => {
    expect(DEFAULT_USER_AGENT).toBe(`${packageJson.name}/${packageJson.version}`);
  });
});
