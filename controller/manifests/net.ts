/**
 * IPv4 addresses, CIDRs and MAC addresses: parsing for validation (strict dotted quads, no
 * leading zeros) and the arithmetic the checks need (membership, network/broadcast address).
 */

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** IPv4 address as an unsigned 32-bit number, or undefined when not a dotted quad. */
export function parseIPv4(text: string): number | undefined {
  // Four octets of 1-3 digits, no leading zeros, each at most 255 (a loop: validation calls this 10,000s of times).
  let n = 0;
  let octets = 0;
  let p = 0;
  while (octets < 4) {
    const start = p;
    let v = 0;
    while (p < text.length && p - start < 4) {
      const c = text.charCodeAt(p);
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
      p++;
    }
    const digits = p - start;
    if (digits === 0 || digits > 3 || (digits > 1 && text.charCodeAt(start) === 0x30) || v > 255) return undefined;
    n = n * 256 + v;
    octets++;
    if (octets < 4) {
      if (text.charCodeAt(p) !== 0x2e) return undefined;
      p++;
    }
  }
  return p === text.length ? n : undefined;
}

export function formatIPv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export interface Cidr {
  /** Network address (host bits zero). */
  network: number;
  prefix: number;
  /** Last address of the block. */
  broadcast: number;
}

/** Why a CIDR string is rejected, or the parsed block. */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf('/');
  if (slash < 0) return 'must be an IPv4 CIDR like 10.0.0.0/24';
  const addr = parseIPv4(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (addr === undefined) return text.includes(':') ? 'only IPv4 CIDRs are supported' : 'must be an IPv4 CIDR like 10.0.0.0/24';
  if (!/^\d{1,2}$/.test(prefixText) || Number(prefixText) > 32) return 'prefix length must be 0..32';
  const prefix = Number(prefixText);
  if (prefix > 30) return 'prefix length must be at most 30 (room for a gateway and a guest)';
  const size = 2 ** (32 - prefix);
  const network = addr - (addr % size);
  if (network !== addr) return `host bits are set; did you mean ${formatIPv4(network)}/${prefix}?`;
  return { network, prefix, broadcast: network + size - 1 };
}

export function cidrContains(c: Cidr, ip: number): boolean {
  return ip >= c.network && ip <= c.broadcast;
}

/** Lowercase MAC, or undefined when malformed. */
export function parseMac(text: string): string | undefined {
  return MAC.test(text) ? text.toLowerCase() : undefined;
}

/** True for multicast MACs (lowest bit of the first octet), which a NIC cannot use. */
export function isMulticastMac(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 1) === 1;
}
