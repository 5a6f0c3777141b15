/**
 * Checks of names and addresses that several layers share. Each returns a reason or `undefined`
 * (or a boolean), never throws, so callers can collect every problem before creating anything.
 */

const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** True when `value` is one RFC 1123 DNS label (what Kubernetes names and namespaces are). */
export function isDnsLabel(value: string): boolean {
    return dnsLabel.test(value);
}

/** True when `value` is a dotted-decimal IPv4 address without leading zeros. */
export function isIpv4(value: string): boolean {
    return ipv4.test(value);
}

/** Why clients could not connect to `ip` (not dotted-decimal IPv4, "this network" or multicast/reserved), or undefined. */
export function reachableIpv4Problem(ip: string): string | undefined {
    // Leading zeros are rejected by the pattern: `010.0.0.1` is octal to some resolvers, decimal to others.
    if (!isIpv4(ip)) return `'${ip}' is not an IPv4 address (dotted decimal, no leading zeros)`;
    const first = Number(ip.split(".")[0]);
    // 0.0.0.0/8 means "this host" and 224.0.0.0/3 is multicast/reserved: a client cannot connect to either.
    if (first === 0) return `'${ip}' is in 0.0.0.0/8 ("this network"), which no client can connect to`;
    if (first >= 224) return `'${ip}' is a multicast or reserved address, which no client can connect to`;
    return undefined;
}

/** Parses `a.b.c.d/n`; returns undefined when malformed (bad octet, prefix, or host bits set). */
export function parseCidr(cidr: string): { address: string; prefix: number } | undefined {
    const match = /^([^/]+)\/(\d{1,2})$/.exec(cidr);
    if (!match || !ipv4.test(match[1])) return undefined;
    const prefix = Number(match[2]);
    if (prefix > 32) return undefined;
    const value = match[1].split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
    const hostBits = 32 - prefix;
    if (hostBits > 0 && value % 2 ** hostBits !== 0) return undefined;
    return { address: match[1], prefix };
}

/** Why `domain` is not a usable DNS domain (lowercase labels, at least two, at most 253 chars), or undefined. */
export function domainProblem(domain: string): string | undefined {
    if (domain.length === 0) return "domain is empty";
    if (domain.length > 253) return `domain '${domain}' is longer than 253 characters`;
    if (domain.endsWith(".")) return `domain '${domain}' must not end with a dot`;
    if (/^[a-z][a-z0-9+.-]*:\/\//.test(domain)) return `domain '${domain}' must not have a scheme`;
    const labels = domain.split(".");
    if (labels.length < 2) return `domain '${domain}' needs at least two labels (e.g. models.example.com)`;
    const bad = labels.find((label) => !isDnsLabel(label));
    if (bad !== undefined) {
        return `domain '${domain}' has an invalid label '${bad}' (lowercase letters, digits and '-', 1 to 63 characters)`;
    }
    return undefined;
}

/** Why `ref` is not a container image reference (registry/name:tag or @sha256:digest), or undefined. */
export function imageRefProblem(ref: string): string | undefined {
    return /^[a-z0-9]([a-z0-9._:/-]*[a-z0-9])?(@sha256:[0-9a-f]{64}|:[\w][\w.-]{0,127})?$/.test(ref)
        ? undefined
        : `'${ref}' is not an image reference (registry/name:tag or @sha256:digest)`;
}
