import fc from 'fast-check';
import { formatAddress, parseTarget, type Target } from '../../lib/client/target.js';
import { anyString } from '../fixtures/arbitraries.js';

const port = fc.integer({ min: 1, max: 65535 });
const ipv4 = fc.ipV4();
const ipv6 = fc.ipV6();
/** DNS names that are not IP addresses: letters first in every label. */
const hostName = fc
  .array(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), { minLength: 1, maxLength: 4 })
  .map((labels) => labels.join('.'))
  .filter((name) => !['dns', 'ipv4', 'ipv6', 'unix', 'unix-abstract'].includes(name));
const socketPath = fc.stringMatching(/^[A-Za-z0-9_.-][A-Za-z0-9_./-]{0,39}$/);

function addressesOf(target: Target): string[] {
  return target.kind === 'static' ? target.addresses.map(formatAddress) : [];
}

describe('parseTarget: the forms of gRPC naming', () => {
  it.each([
    ['localhost:50051', { kind: 'dns', host: 'localhost', port: 50051, dnsServer: undefined, authority: 'localhost:50051', serverName: 'localhost' }],
    ['example.com', { kind: 'dns', host: 'example.com', port: 443, authority: 'example.com:443' }],
    ['dns:///example.com:8080', { kind: 'dns', host: 'example.com', port: 8080, dnsServer: undefined }],
    ['dns:example.com', { kind: 'dns', host: 'example.com', port: 443 }],
    ['dns://127.0.0.1:5353/replicas.test:7000', { kind: 'dns', host: 'replicas.test', port: 7000, dnsServer: '127.0.0.1:5353', authority: 'replicas.test:7000' }],
    ['dns://8.8.8.8/example.com', { kind: 'dns', dnsServer: '8.8.8.8:53' }],
    ['dns://[::1]:53/example.com:1', { kind: 'dns', dnsServer: '[::1]:53' }],
    ['127.0.0.1:50051', { kind: 'static', authority: '127.0.0.1:50051', serverName: undefined }],
    ['[::1]:50051', { kind: 'static', authority: '[::1]:50051' }],
    ['dns:///10.0.0.1', { kind: 'static', authority: '10.0.0.1:443' }],
    ['ipv4:10.0.0.1:1,10.0.0.2', { kind: 'static', authority: '10.0.0.1:1' }],
    ['ipv6:[::1]:7,::2', { kind: 'static', authority: '[::1]:7' }],
    ['unix:relative/sock', { kind: 'static', authority: 'localhost', serverName: 'localhost' }],
    ['unix:///tmp/x.sock', { kind: 'static', authority: 'localhost' }],
    ['unix-abstract:name', { kind: 'static', authority: 'localhost' }],
  ])('%s', (text, expected) => {
    expect(parseTarget(text)).toMatchObject(expected);
  });

  it.each([
    ['ipv4:10.0.0.1:1,10.0.0.2', ['10.0.0.1:1', '10.0.0.2:443']],
    ['ipv6:[::1]:7,::2', ['[::1]:7', '[::2]:443']],
    ['unix:relative/sock', ['unix:relative/sock']],
    ['unix:/abs/sock', ['unix:/abs/sock']],
    ['unix:///tmp/x.sock', ['unix:/tmp/x.sock']],
    ['unix-abstract:name', ['unix-abstract:name']],
  ])('%s has the addresses %j', (text, addresses) => {
    expect(addressesOf(parseTarget(text))).toEqual(addresses);
  });

  it.each([
    ['', /expected host\[:port\]/],
    ['not a target', /expected host\[:port\]/],
    ['host:port', /expected host\[:port\]/],
    ['localhost:99999', /port 99999 is not in 1-65535/],
    ['localhost:0', /port 0 is not in 1-65535/],
    ['[::1', /expected host\[:port\]/],
    ['[example.com]:1', /not an IPv6 address/],
    ['::1', /expected host\[:port\]/],
    ['http://localhost:1', /unsupported scheme "http"/],
    ['xds:///service', /unsupported scheme "xds"/],
    ['dns://localhost', /expected dns:\/\/dns-server\/host/],
    ['dns://resolver.example/x:1', /DNS server "resolver.example" must be an IP address/],
    ['ipv4:10.0.0.1,::1', /got "::1"/],
    ['ipv4:10.0.0.1,[::1]:1', /"\[::1\]:1" is not an IPv4/],
    ['ipv4:example.com:1', /is not an IPv4/],
    ['ipv6:[::1]:80:1', /expected host\[:port\]/],
    ['ipv6:10.0.0.1', /is not an IPv6/],
    ['ipv4:', /expected host\[:port\]/],
    ['unix:', /socket path is empty/],
    ['unix://relative', /unix:\/\/ takes an absolute path/],
    ['unix-abstract:', /socket path is empty/],
  ])('%j is refused: %s', (text, message) => {
    expect(() => parseTarget(text)).toThrow(TypeError);
    expect(() => parseTarget(text)).toThrow(message);
    expect(() => parseTarget(text)).toThrow(JSON.stringify(text));
  });
});

describe('parseTarget: properties', () => {
  it('any string either parses or throws a TypeError naming it', () => {
    fc.assert(
      fc.property(anyString({ maxLength: 60 }), (text) => {
        try {
          const target = parseTarget(text);
          expect(target.kind === 'dns' || target.addresses.length > 0).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(TypeError);
          expect((error as Error).message).toContain(JSON.stringify(text));
        }
      }),
    );
  });

  it('a DNS name, in every form, keeps its host and port and sends them as the authority', () => {
    fc.assert(
      fc.property(hostName, fc.option(port, { nil: undefined }), fc.option(fc.tuple(ipv4, port), { nil: undefined }), fc.integer({ min: 0, max: 2 }), (host, p, server, form) => {
        const name = p === undefined ? host : `${host}:${p}`;
        const text = server !== undefined ? `dns://${server[0]}:${server[1]}/${name}` : [name, `dns:///${name}`, `dns:${name}`][form];
        expect(parseTarget(text)).toEqual({
          kind: 'dns',
          text,
          host,
          port: p ?? 443,
          authority: `${host}:${p ?? 443}`,
          serverName: host,
          dnsServer: server === undefined ? undefined : `${server[0]}:${server[1]}`,
        });
      }),
    );
  });

  it('IP literals need no resolution: one address, the authority is the address', () => {
    fc.assert(
      fc.property(fc.oneof(ipv4, ipv6), port, fc.boolean(), (ip, p, withScheme) => {
        const address = ip.includes(':') ? `[${ip}]:${p}` : `${ip}:${p}`;
        const target = parseTarget(withScheme ? `dns:///${address}` : address);
        expect(target).toMatchObject({ kind: 'static', serverName: undefined });
        expect(addressesOf(target)).toEqual([formatAddress({ host: ip, port: p })]);
        expect(target.authority).toBe(formatAddress({ host: ip, port: p }));
      }),
    );
  });

  it('ipv4: and ipv6: lists keep every address, in order, with 443 for a missing port', () => {
    const entry = fc.oneof(
      fc.tuple(ipv4, fc.option(port, { nil: undefined })).map(([ip, p]) => ({ family: 4, ip, p })),
      fc.tuple(ipv6, fc.option(port, { nil: undefined })).map(([ip, p]) => ({ family: 6, ip, p })),
    );
    fc.assert(
      fc.property(fc.constantFrom(4, 6), fc.array(entry, { minLength: 1, maxLength: 5 }), (family, all) => {
        const entries = all.filter((candidate) => candidate.family === family);
        fc.pre(entries.length > 0);
        const written = entries.map(({ ip, p }) => (p === undefined ? ip : family === 6 ? `[${ip}]:${p}` : `${ip}:${p}`));
        const target = parseTarget(`ipv${family}:${written.join(',')}`);
        const expected = entries.map(({ ip, p }) => formatAddress({ host: ip, port: p ?? 443 }));
        expect(addressesOf(target)).toEqual(expected);
        expect(target.authority).toBe(expected[0]);
      }),
    );
  });

  it('unix paths: unix:path keeps the path as written, unix:///abs the absolute path', () => {
    fc.assert(
      fc.property(socketPath, (path) => {
        expect(addressesOf(parseTarget(`unix:${path}`))).toEqual([`unix:${path}`]);
        const absolute = `/${path}`;
        expect(addressesOf(parseTarget(`unix://${absolute}`))).toEqual([`unix:${absolute}`]);
        expect(addressesOf(parseTarget(`unix-abstract:${path}`))).toEqual([`unix-abstract:${path}`]);
      }),
    );
  });
});
