import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib/domain/errors.ts';
import { cidrContains, hostCidr, ipVersion, parseCidr } from '../../lib/domain/network.ts';

const contains = (cidr: string, ip: string): boolean => cidrContains(parseCidr(cidr), ip);

describe('hostCidr: the caller as a single-address block', () => {
  it.each([
    ['203.0.113.9', '203.0.113.9/32'],
    ['10.0.0.1', '10.0.0.1/32'],
    ['2001:db8::1', '2001:db8::1/128'],
    ['2001:DB8::ABCD', '2001:db8::abcd/128'],
    ['::1', '::1/128'],
    ['::ffff:203.0.113.9', '::ffff:203.0.113.9/128'],
  ])('%s → %s', (ip, cidr) => {
    expect(hostCidr(ip)).toBe(cidr);
  });

  it.each([
    '',
    'localhost',
    '203.0.113.9/32',
    '203.0.113',
    '256.0.0.1',
    '01.2.3.4',
    ' 203.0.113.9',
    '203.0.113.9, 10.0.0.1',
    '2001:db8:::1',
    'fe80::1%eth0',
    '::%1',
    '"; rm -rf /',
  ])('refuses %j', (text) => {
    expect(() => hostCidr(text)).toThrow(ValidationError);
  });
});

describe('ipVersion', () => {
  it('tells 4 from 6 from neither (zone ids are neither)', () => {
    expect(ipVersion('192.0.2.1')).toBe(4);
    expect(ipVersion('2001:db8::1')).toBe(6);
    expect(ipVersion('::ffff:192.0.2.1')).toBe(6);
    expect(ipVersion('fe80::1%eth0')).toBe(0);
    expect(ipVersion('example.com')).toBe(0);
  });
});

describe('parseCidr', () => {
  it('masks the host bits off the network', () => {
    expect(parseCidr('203.0.113.77/24')).toEqual({
      version: 4,
      network: (203n << 24n) + (0n << 16n) + (113n << 8n),
      prefix: 24,
    });
    expect(parseCidr('0.0.0.0/0')).toEqual({ version: 4, network: 0n, prefix: 0 });
    expect(parseCidr('2001:db8::ffff/32')).toEqual({
      version: 6,
      network: 0x20010db8n << 96n,
      prefix: 32,
    });
    expect(parseCidr('::/0')).toEqual({ version: 6, network: 0n, prefix: 0 });
    expect(parseCidr('::1/128')).toEqual({ version: 6, network: 1n, prefix: 128 });
    expect(parseCidr('1::/16')).toEqual({ version: 6, network: 1n << 112n, prefix: 16 });
    expect(parseCidr('::ffff:1.2.3.4/128')).toEqual({
      version: 6,
      network: (0xffffn << 32n) + 0x01020304n,
      prefix: 128,
    });
  });

  it.each([
    '',
    '10.0.0.0',
    '10.0.0.0/',
    '10.0.0.0/33',
    '2001:db8::/129',
    '10.0.0.0/8/8',
    '10.0.0.0/-1',
    '10.0.0.0/ 8',
    '10.0.0.0/0x8',
    '10.0.0.0/1000',
    '10.0.0/8',
    'example.com/24',
    '/24',
    'fe80::1%eth0/64',
    '::%eth0/64',
  ])('refuses %j with a ValidationError', (text) => {
    expect(() => parseCidr(text)).toThrow(ValidationError);
  });
});

describe('cidrContains', () => {
  it.each([
    ['203.0.113.0/24', '203.0.113.0', true],
    ['203.0.113.0/24', '203.0.113.255', true],
    ['203.0.113.0/24', '203.0.114.0', false],
    ['203.0.113.0/24', '203.0.112.255', false],
    ['10.0.0.0/8', '10.255.255.255', true],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['203.0.113.9/32', '203.0.113.9', true],
    ['203.0.113.9/32', '203.0.113.10', false],
    ['0.0.0.0/0', '255.255.255.255', true],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['2001:db8::/32', '2001:0DB8:0000:0000:0000:0000:0000:0001', true],
    ['2001:db8:0:0:0:0:0:0/48', '2001:db8::', true],
    ['::/0', '::1', true],
    ['::/0', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', true],
    ['::/128', '::', true],
    ['::/128', '::1', false],
    ['::1/128', '0:0:0:0:0:0:0:1', true],
    ['1::/16', '1:0:0:0:0:0:0:9', true],
    ['fe80::/10', 'febf::1', true],
    ['fe80::/10', 'fec0::1', false],
    // IPv4-mapped IPv6 addresses live in ::ffff:0:0/96
    ['::ffff:0:0/96', '::ffff:203.0.113.9', true],
    ['::ffff:203.0.113.0/120', '::ffff:203.0.113.9', true],
    ['::ffff:203.0.113.0/120', '::ffff:203.0.114.9', false],
    ['::ffff:cb00:7100/120', '::ffff:203.0.113.9', true],
    ['::/96', '::203.0.113.9', true],
    // families never mix: a v4 block admits no v6 address and the other way round
    ['0.0.0.0/0', '::1', false],
    ['0.0.0.0/0', '::ffff:203.0.113.9', false],
    ['::/0', '203.0.113.9', false],
    ['0.0.0.0/0', 'not-an-ip', false],
    ['::/0', 'fe80::1%eth0', false],
    ['::/0', '::%1', false],
  ])('%s ∋ %s: %s', (cidr, ip, expected) => {
    expect(contains(cidr, ip)).toBe(expected);
  });
});

const ipv4Arb = fc.ipV4();
const ipv6Arb = fc.ipV6();

describe('properties', () => {
  it('every IPv4 address is in its own /32, in 0.0.0.0/0 and in network/p of itself', () => {
    fc.assert(
      fc.property(ipv4Arb, fc.integer({ min: 0, max: 32 }), (ip, prefix) => {
        expect(contains(hostCidr(ip), ip)).toBe(true);
        expect(contains('0.0.0.0/0', ip)).toBe(true);
        expect(contains(`${ip}/${prefix}`, ip)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('a /32 holds only its own address', () => {
    fc.assert(
      fc.property(ipv4Arb, ipv4Arb, (a, b) => {
        expect(contains(`${a}/32`, b)).toBe(a === b);
      }),
    );
  });

  it('every IPv6 address (any notation fast-check writes) is in its own /128, in ::/0 and in network/p', () => {
    fc.assert(
      fc.property(ipv6Arb, fc.integer({ min: 0, max: 128 }), (ip, prefix) => {
        expect(contains(hostCidr(ip), ip)).toBe(true);
        expect(contains('::/0', ip)).toBe(true);
        expect(contains(`${ip}/${prefix}`, ip)).toBe(true);
        expect(contains('0.0.0.0/0', ip)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('parseCidr on random strings only ever throws ValidationError', () => {
    const cidrish = fc
      .tuple(
        fc.oneof(ipv4Arb, ipv6Arb, fc.string({ maxLength: 40 })),
        fc.oneof(fc.integer({ min: -5, max: 200 }).map(String), fc.string({ maxLength: 4 })),
        fc.constantFrom('', '%eth0', '%', '/8'),
      )
      .map(([address, prefix, suffix]) => `${address}${suffix}/${prefix}`);
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), cidrish),
        fc.oneof(ipv4Arb, ipv6Arb, fc.string()),
        (text, ip) => {
          let cidr: ReturnType<typeof parseCidr> | undefined;
          try {
            cidr = parseCidr(text);
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
          }
          if (cidr) {
            expect(typeof cidrContains(cidr, ip)).toBe('boolean');
            expect(cidr.network >= 0n).toBe(true);
            expect(cidr.network < 1n << (cidr.version === 4 ? 32n : 128n)).toBe(true);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
