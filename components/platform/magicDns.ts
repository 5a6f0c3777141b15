/**
 * Magic DNS: model URLs without owning a domain. sslip.io answers any name that embeds an IPv4
 * address (`<anything>.<a.b.c.d>.sslip.io`) with that address, so `<model>.<namespace>.<ip>.sslip.io`
 * reaches the ingress gateway as soon as it has an IP. A custom domain from config replaces it (the
 * operator then points a wildcard record `*.<domain>` at the ingress).
 *
 * Pure functions only; every one throws a clear error on bad input instead of building a name that
 * would never resolve.
 */
import { domainProblem, isDnsLabel, reachableIpv4Problem } from "../common/validation";

/** Why `ip` cannot be used for magic DNS (clients could not connect to it), or undefined when it can. */
export const magicDnsIpProblem = reachableIpv4Problem;

/** The public resolver that maps `<ip>.sslip.io` names to `<ip>`. */
export const magicDnsSuffix = "sslip.io";


/** `<ip>.sslip.io`, the magic domain that resolves to `ip`. */
export function magicDomain(ip: string): string {
    const problem = magicDnsIpProblem(ip);
    if (problem) throw new Error(`magic DNS: ${problem}`);
    return `${ip}.${magicDnsSuffix}`;
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
