import { isIP as netIsIP } from 'node:net';
import { ValidationError } from './errors.ts';

/**
 * node:net's isIP also accepts IPv6 zone ids (`fe80::1%eth0`): they are meaningless off the
 * host, would put a `%` into sshd options and security-group rules, and break the arithmetic
 * below, so an address with a zone is not an address here.
 */
const isIP = (text: string): 4 | 6 | 0 => (text.includes('%') ? 0 : (netIsIP(text) as 4 | 6 | 0));

/** The caller's single address as a CIDR: IPv4 → /32, IPv6 → /128. */
export function hostCidr(sourceIp: string): string {
  const version = isIP(sourceIp);
  if (version === 4) return `${sourceIp}/32`;
  if (version === 6) return `${sourceIp.toLowerCase()}/128`;
  throw new ValidationError('the caller address is not an IP address');
}

export function ipVersion(ip: string): 4 | 6 | 0 {
  return isIP(ip);
}

function ipv4ToBigInt(ip: string): bigint {
  return ip.split('.').reduce((acc, octet) => (acc << 8n) + BigInt(Number(octet)), 0n);
}

function ipv6ToBigInt(ip: string): bigint {
  let address = ip.toLowerCase();
  // IPv4-mapped tail (::ffff:1.2.3.4)
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (v4Tail?.[1]) {
    const v4 = ipv4ToBigInt(v4Tail[1]);
    address = `${address.slice(0, -v4Tail[1].length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = address.split('::');
  const headParts = head ? head.split(':') : [];
  const tailParts = tail ? tail.split(':') : [];
  const missing = 8 - headParts.length - tailParts.length;
  const parts = [
    ...headParts,
    ...Array<string>(tail === undefined ? 0 : missing).fill('0'),
    ...tailParts,
  ];
  return parts.reduce((acc, part) => (acc << 16n) + BigInt(Number.parseInt(part || '0', 16)), 0n);
}

export interface Cidr {
  version: 4 | 6;
  network: bigint;
  prefix: number;
}

export function parseCidr(text: string): Cidr {
  const [address = '', prefixText, ...rest] = text.split('/');
  const version = isIP(address);
  const max = version === 4 ? 32 : 128;
  if (
    version === 0 ||
    rest.length > 0 ||
    prefixText === undefined ||
    !/^\d{1,3}$/.test(prefixText)
  ) {
    throw new ValidationError(`'${text}' is not a CIDR block like 203.0.113.0/24`);
  }
  const prefix = Number(prefixText);
  if (prefix > max) throw new ValidationError(`'${text}' has a prefix longer than /${max}`);
  const value = version === 4 ? ipv4ToBigInt(address) : ipv6ToBigInt(address);
  const shift = BigInt(max - prefix);
  return { version: version as 4 | 6, network: (value >> shift) << shift, prefix };
}

export function cidrContains(cidr: Cidr, ip: string): boolean {
  const version = isIP(ip);
  if (version !== cidr.version) return false;
  const value = version === 4 ? ipv4ToBigInt(ip) : ipv6ToBigInt(ip);
  const shift = BigInt((version === 4 ? 32 : 128) - cidr.prefix);
  return (value >> shift) << shift === cidr.network;
}
