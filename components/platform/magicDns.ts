/**
 * Magic DNS: model URLs without owning a domain. sslip.io answers any name that embeds an IPv4
 * address (`<anything>.<a.b.c.d>.sslip.io`) with that address, so `<model>.<namespace>.<ip>.sslip.io`
 * reaches the ingress gateway as soon as it has an IP. A custom domain from config replaces it (the
 * operator then points a wildcard record `*.<domain>` at the ingress).
 *
 * Pure functions only; every one throws a clear error on bad input instead of building a name that
 * would never resolve.
 */

/** The public resolver that maps `<ip>.sslip.io` names to `<ip>`. */
export const magicDnsSuffix = "sslip.io";

const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Why `ip` cannot be used for magic DNS, or undefined when it can. */
export function magicDnsIpProblem(ip: string): string | undefined {
    // Leading zeros are rejected by the pattern: `010.0.0.1` is octal to some resolvers, decimal to others.
    if (!ipv4.test(ip)) return `'${ip}' is not an IPv4 address (dotted decimal, no leading zeros)`;
    const first = Number(ip.split(".")[0]);
    // 0.0.0.0/8 means "this host" and 224.0.0.0/3 is multicast/reserved: a client cannot connect to either.
    if (first === 0) return `'${ip}' is in 0.0.0.0/8 ("this network"), which no client can connect to`;
    if (first >= 224) return `'${ip}' is a multicast or reserved address, which no client can connect to`;
    return undefined;
}

/** `<ip>.sslip.io`, the magic domain that resolves to `ip`. */
export function magicDomain(ip: string): string {
    const problem = magicDnsIpProblem(ip);
    if (problem) throw new Error(`magic DNS: ${problem}`);
    return `${ip}.${magicDnsSuffix}`;
}

/** True when `value` is one RFC 1123 DNS label (what Kubernetes names and namespaces are). */
export function isDnsLabel(value: string): boolean {
    return dnsLabel.test(value);
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

/**
 * The domain model hosts live under: the custom domain when one is configured, otherwise the magic
 * domain of the ingress IP. `ip` is validated only when it is used.
 */
export function resolveDomain(customDomain: string | undefined, ip: string): string {
    if (customDomain !== undefined) {
        const problem = domainProblem(customDomain);
        if (problem) throw new Error(`custom domain: ${problem}`);
        return customDomain;
    }
    return magicDomain(ip);
}

/**
 * Host of a model: `<name>.<namespace>.<domain>`, Knative's default domain template, which KServe
 * uses for an InferenceService's top-level URL.
 */
export function modelHost(name: string, namespace: string, domain: string): string {
    if (!isDnsLabel(name)) throw new Error(`model name '${name}' is not a DNS label (lowercase letters, digits and '-', 1 to 63 characters)`);
    if (!isDnsLabel(namespace)) throw new Error(`namespace '${namespace}' is not a DNS label (lowercase letters, digits and '-', 1 to 63 characters)`);
    const problem = domainProblem(domain);
    if (problem) throw new Error(`model host: ${problem}`);
    const host = `${name}.${namespace}.${domain}`;
    if (host.length > 253) throw new Error(`model host '${host}' is longer than 253 characters`);
    return host;
}
