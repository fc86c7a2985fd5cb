/** The nginx config template helpers of the proxy test (test/helpers/nginx.ts): placeholders and directive variants. */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { fillTemplate, withDirective } from '../helpers/nginx.js';

const name = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,11}$/);
const text = fc.stringMatching(/^[a-z0-9 ;:.\n{}]{0,20}$/);

describe('fillTemplate', () => {
  it('property: every placeholder becomes its value and nothing else changes', () => {
    fc.assert(
      fc.property(fc.uniqueArray(name, { minLength: 1, maxLength: 5 }), fc.array(text, { minLength: 6, maxLength: 6 }), fc.array(text, { minLength: 5, maxLength: 5 }), (names, gaps, values) => {
        const template = gaps[0] + names.map((n, i) => `\${${n}}${gaps[i + 1]}`).join('');
        const expected = gaps[0] + names.map((_n, i) => `${values[i]}${gaps[i + 1]}`).join('');
        expect(fillTemplate(template, Object.fromEntries(names.map((n, i) => [n, values[i]])))).toBe(expected);
      }),
    );
  });

  it("leaves nginx's own $variables alone", () => {
    expect(fillTemplate('set $x ${A}; $proxy_add_x_forwarded_for', { A: '1' })).toBe('set $x 1; $proxy_add_x_forwarded_for');
  });

  it('refuses a placeholder without a value and a value without a placeholder', () => {
    expect(() => fillTemplate('listen ${PORT};', {})).toThrow('The template\'s placeholder ${PORT} has no value');
    expect(() => fillTemplate('listen 1;', { PORT: '1' })).toThrow('The template has no placeholder for PORT');
  });

  it('fills deploy/nginx.conf completely with its three values', () => {
    const filled = fillTemplate(readFileSync('deploy/nginx.conf', 'utf8'), { LISTEN_PORT: '127.0.0.1:1', REPLICA_A: 'a:1', REPLICA_B: 'b:1' });
    expect(filled).not.toMatch(/\$\{/);
    expect(filled).toContain('server a:1;');
  });
});

describe('withDirective', () => {
  const template = 'http {\n    keepalive 32;\n    keepalive_timeout 5s;\n}\n';

  it('replaces the value of the one line of a directive, keeping its indentation, or removes the line', () => {
    expect(withDirective('keepalive', '8')(template)).toBe('http {\n    keepalive 8;\n    keepalive_timeout 5s;\n}\n');
    expect(withDirective('keepalive', undefined)(template)).toBe('http {\n    keepalive_timeout 5s;\n}\n');
  });

  it('refuses a directive that is missing or repeated', () => {
    expect(() => withDirective('grpc_read_timeout', '1s')(template)).toThrow('the template has 0 grpc_read_timeout lines, expected 1');
    expect(() => withDirective('keepalive', '1')(template + template)).toThrow('the template has 2 keepalive lines, expected 1');
  });
});
