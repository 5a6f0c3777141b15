/**
 * Which addresses the gateway may download images from. Pure: parses and classifies IP literals;
 * the downloader calls `checkAddress` on every address a host name resolves to, and connects only
 * to an address that passed (so a DNS answer cannot change between the check and the connect).
 */
import { isIPv4, isIPv6 } from "node:net";

export interface AddressPolicy {
    /**
     * Allow 127.0.0.0/8 and ::1. Only for tests and benchmarks that serve images on loopback;
     * default false.
     */
    readonly allowLoopbackForTests?: boolean;
    /**
     * CIDRs allowed even though they are private (e.g. an in-VPC image store), as parsed by
     * `parseCidr`. Default none. The instance metadata addresses stay refused whatever this says.
     */
    readonly allowCidrs?: readonly Cidr[];
}

export interface Cidr {
    readonly bytes: Uint8Array; // 4 or 16 bytes
    readonly prefix: number;
}

export type AddressClass =
    | "public"
    | "metadata"
    | "loopback"
    | "private"
    | "link-local"
    | "unique-local"
    | "unspecified"
    | "multicast"
    | "broadcast"
    | "carrier-nat"
    | "documentation"
    | "benchmarking"
    | "reserved"
    | "tunnel";

/** Parses a dotted-quad IPv4 literal; undefined when it is not one. */
export function parseIPv4(text: string): Uint8Array | undefined {
    if (!isIPv4(text)) return undefined;
    return Uint8Array.from(text.split(".").map((p) => Number(p)));
}

/** Parses an IPv6 literal (with `::`, embedded IPv4 and an optional `%zone`); undefined when not one. */
export function parseIPv6(text: string): Uint8Array | undefined {
    const noZone = text.split("%")[0];
    if (!isIPv6(noZone)) return undefined;
    let head = noZone;
    const tailBytes: number[] = [];
    const lastColon = head.lastIndexOf(":");
    const last = head.slice(lastColon + 1);
    if (last.includes(".")) {
        const v4 = parseIPv4(last);
        if (!v4) return undefined;
        tailBytes.push(...v4);
        head = head.slice(0, lastColon + 1) + "0:0"; // placeholder groups, replaced below
    }
    const [left, right] = head.includes("::") ? head.split("::") : [head, undefined];
    const groups = (s: string | undefined) => (s ? s.split(":").filter((g) => g !== "") : []);
    const l = groups(left);
    const r = groups(right);
    const fill = right === undefined ? 0 : 8 - l.length - r.length;
    const all = [...l, ...Array<string>(fill).fill("0"), ...r];
    if (all.length !== 8) return undefined;
    const out = new Uint8Array(16);
    all.forEach((g, i) => {
        const v = parseInt(g, 16);
        out[i * 2] = v >> 8;
        out[i * 2 + 1] = v & 0xff;
    });
    if (tailBytes.length === 4) out.set(tailBytes, 12);
    return out;
}

export function parseIp(text: string): Uint8Array | undefined {
    return parseIPv4(text) ?? parseIPv6(text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text);
}

function inPrefix(addr: Uint8Array, net: readonly number[], prefix: number): boolean {
    for (let bit = 0; bit < prefix; bit += 8) {
        const i = bit / 8;
        const bits = Math.min(8, prefix - bit);
        const mask = (0xff << (8 - bits)) & 0xff;
        if ((addr[i] & mask) !== ((net[i] ?? 0) & mask)) return false;
    }
    return true;
}

function classifyV4(a: Uint8Array): AddressClass {
    if (a[0] === 169 && a[1] === 254 && a[2] === 169 && a[3] === 254) return "metadata";
    // AWS's time sync and DNS resolver link-local addresses are treated like metadata: never fetched.
    if (a[0] === 169 && a[1] === 254 && a[2] === 169 && (a[3] === 123 || a[3] === 253)) return "metadata";
    const table: [number[], number, AddressClass][] = [
        [[0], 8, "unspecified"],
        [[10], 8, "private"],
        [[100, 64], 10, "carrier-nat"],
        [[127], 8, "loopback"],
        [[169, 254], 16, "link-local"],
        [[172, 16], 12, "private"],
        [[192, 0, 0], 24, "reserved"],
        [[192, 0, 2], 24, "documentation"],
        [[192, 88, 99], 24, "reserved"],
        [[192, 168], 16, "private"],
        [[198, 18], 15, "benchmarking"],
        [[198, 51, 100], 24, "documentation"],
        [[203, 0, 113], 24, "documentation"],
        [[224], 4, "multicast"],
        [[255, 255, 255, 255], 32, "broadcast"],
        [[240], 4, "reserved"],
    ];
    for (const [net, prefix, cls] of table) if (inPrefix(a, net, prefix)) return cls;
    return "public";
}

function classifyV6(a: Uint8Array): AddressClass {
    const zero = (from: number, to: number) => a.slice(from, to).every((b) => b === 0);
    const v4At12 = () => a.slice(12, 16);
    if (zero(0, 15) && a[15] === 0) return "unspecified";
    if (zero(0, 15) && a[15] === 1) return "loopback";
    // IPv4-mapped (::ffff:a.b.c.d) and IPv4-translated (::ffff:0:a.b.c.d): judge the IPv4 address.
    if (zero(0, 10) && a[10] === 0xff && a[11] === 0xff) return classifyV4(v4At12());
    if (zero(0, 8) && a[8] === 0xff && a[9] === 0xff && a[10] === 0 && a[11] === 0) return classifyV4(v4At12());
    // IPv4-compatible (deprecated ::a.b.c.d): nothing legitimate uses it.
    if (zero(0, 12)) return "reserved";
    // NAT64 well-known prefix 64:ff9b::/96 and local-use 64:ff9b:1::/48 reach IPv4 hosts: judge those.
    if (inPrefix(a, [0x00, 0x64, 0xff, 0x9b], 32) && zero(4, 12)) return classifyV4(v4At12());
    if (inPrefix(a, [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48)) return "private";
    // 6to4 2002:AABB:CCDD::/16 embeds an IPv4 address.
    if (inPrefix(a, [0x20, 0x02], 16)) {
        const embedded = classifyV4(a.slice(2, 6));
        return embedded === "public" ? "tunnel" : embedded;
    }
    // AWS's IPv6 instance metadata endpoint fd00:ec2::254 (inside fc00::/7 anyway).
    if (inPrefix(a, [0xfd, 0x00, 0x0e, 0xc2], 32) && zero(4, 14) && a[14] === 0x02 && a[15] === 0x54) return "metadata";
    const table: [number[], number, AddressClass][] = [
        [[0x01, 0x00], 64, "reserved"], // discard-only 100::/64
        [[0x20, 0x01, 0x00, 0x00], 32, "tunnel"], // Teredo
        [[0x20, 0x01, 0x00, 0x02, 0x00, 0x00], 48, "benchmarking"],
        [[0x20, 0x01, 0x0d, 0xb8], 32, "documentation"],
        [[0x20, 0x01, 0x00, 0x10], 28, "reserved"], // ORCHID
        [[0xfc], 7, "unique-local"],
        [[0xfe, 0x80], 10, "link-local"],
        [[0xfe, 0xc0], 10, "private"], // deprecated site-local
        [[0xff], 8, "multicast"],
    ];
    for (const [net, prefix, cls] of table) if (inPrefix(a, net, prefix)) return cls;
    return "public";
}

/** Classifies a 4- or 16-byte address. */
export function classifyAddress(bytes: Uint8Array): AddressClass {
    return bytes.length === 4 ? classifyV4(bytes) : classifyV6(bytes);
}

/** Parses `a.b.c.d/n` or `v6::/n`; throws a clear error otherwise. */
export function parseCidr(text: string): Cidr {
    const [ip, prefixText, extra] = text.trim().split("/");
    const bytes = ip === undefined ? undefined : parseIp(ip);
    const prefix = Number(prefixText);
    if (!bytes || extra !== undefined || prefixText === undefined || !/^\d{1,3}$/.test(prefixText) || prefix > bytes.length * 8) {
        throw new Error(`'${text}' is not a CIDR (expected a.b.c.d/n or an IPv6 prefix like fd00::/8)`);
    }
    return { bytes, prefix };
}

function cidrContains(cidr: Cidr, addr: Uint8Array): boolean {
    return cidr.bytes.length === addr.length && inPrefix(addr, Array.from(cidr.bytes), cidr.prefix);
}

export type AddressVerdict = { readonly allowed: true } | { readonly allowed: false; readonly reason: AddressClass | "not an IP address" };

/** Whether the gateway may connect to `ip` under `policy`. */
export function checkAddress(ip: string, policy: AddressPolicy = {}): AddressVerdict {
    const bytes = parseIp(ip);
    if (!bytes) return { allowed: false, reason: "not an IP address" };
    const cls = classifyAddress(bytes);
    if (cls === "public") return { allowed: true };
    if (cls === "metadata") return { allowed: false, reason: cls };
    if (cls === "loopback" && policy.allowLoopbackForTests) return { allowed: true };
    // An IPv4-mapped IPv6 address is allow-listed through its IPv4 form.
    const mapped = bytes.length === 16 && bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff ? bytes.slice(12) : undefined;
    for (const cidr of policy.allowCidrs ?? []) {
        if (cidrContains(cidr, bytes) || (mapped && cidrContains(cidr, mapped))) return { allowed: true };
    }
    return { allowed: false, reason: cls };
}
