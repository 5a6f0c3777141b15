import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { domainProblem, isDnsLabel } from "../components/common/validation";
import { magicDomain, magicDnsIpProblem, modelHost, resolveDomain } from "../components/platform/magicDns";

const octet = fc.integer({ min: 0, max: 255 });
const usableIp = fc
    .tuple(fc.integer({ min: 1, max: 223 }), octet, octet, octet)
    .map((parts) => parts.join("."));
const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
const domain = fc.array(label, { minLength: 2, maxLength: 4 }).map((labels) => labels.join("."));

describe("magicDomain", () => {
    it("appends sslip.io to a usable IPv4 address", () => {
        expect(magicDomain("203.0.113.7")).toBe("203.0.113.7.sslip.io");
        expect(magicDomain("127.0.0.1")).toBe("127.0.0.1.sslip.io");
    });

    it("embeds the IP so that sslip.io resolves the name back to it", () => {
        fc.assert(
            fc.property(usableIp, (ip) => {
                const name = magicDomain(ip);
                const match = /^(\d+\.\d+\.\d+\.\d+)\.sslip\.io$/.exec(name);
                expect(match?.[1]).toBe(ip);
            }),
        );
    });

    it.each([
        ["", /not an IPv4/],
        ["localhost", /not an IPv4/],
        ["1.2.3", /not an IPv4/],
        ["1.2.3.4.5", /not an IPv4/],
        ["256.1.1.1", /not an IPv4/],
        ["010.0.0.1", /not an IPv4/],
        [" 1.2.3.4", /not an IPv4/],
        ["::1", /not an IPv4/],
        ["0.0.0.0", /this network/],
        ["224.0.0.1", /multicast/],
        ["255.255.255.255", /multicast or reserved/],
    ])("rejects %j", (ip, message) => {
        expect(() => magicDomain(ip)).toThrow(message);
    });

    it("accepts exactly the addresses in 1.0.0.0 - 223.255.255.255", () => {
        fc.assert(
            fc.property(fc.tuple(octet, octet, octet, octet), (parts) => {
                const ip = parts.join(".");
                expect(magicDnsIpProblem(ip) === undefined).toBe(parts[0] >= 1 && parts[0] <= 223);
            }),
        );
    });
});

describe("modelHost", () => {
    it("builds <name>.<namespace>.<domain>", () => {
        expect(modelHost("sklearn-iris", "models", "203.0.113.7.sslip.io")).toBe("sklearn-iris.models.203.0.113.7.sslip.io");
        expect(modelHost("gpu", "models", "ml.example.com")).toBe("gpu.models.ml.example.com");
    });

    it("keeps the magic domain's IP recoverable from any model host", () => {
        fc.assert(
            fc.property(label, label, usableIp, (name, namespace, ip) => {
                const host = modelHost(name, namespace, magicDomain(ip));
                expect(host.startsWith(`${name}.${namespace}.`)).toBe(true);
                expect(host.endsWith(`.${ip}.sslip.io`)).toBe(true);
            }),
        );
    });

    it.each([
        ["Iris", "models", "example.com", /model name 'Iris'/],
        ["iris_v1", "models", "example.com", /model name/],
        ["-iris", "models", "example.com", /model name/],
        ["iris", "", "example.com", /namespace ''/],
        ["iris", "a.b", "example.com", /namespace 'a.b'/],
        ["iris", "models", "", /domain is empty/],
        ["iris", "models", "example.com.", /must not end with a dot/],
        ["iris", "models", "https://example.com", /scheme/],
        ["iris", "models", "Example.com", /invalid label 'Example'/],
    ])("rejects name %j namespace %j domain %j", (name, namespace, d, message) => {
        expect(() => modelHost(name, namespace, d)).toThrow(message);
    });

    it("rejects a name longer than a DNS label", () => {
        expect(() => modelHost("a".repeat(64), "models", "example.com")).toThrow(/model name/);
        expect(modelHost("a".repeat(63), "models", "example.com")).toBe(`${"a".repeat(63)}.models.example.com`);
    });

    it("rejects hosts longer than 253 characters", () => {
        const long = Array.from({ length: 3 }, () => "d".repeat(63)).join(".") + ".com"; // 195 characters
        expect(domainProblem(long)).toBeUndefined();
        expect(() => modelHost("m".repeat(30), "n".repeat(30), long)).toThrow(/longer than 253/);
    });
});

describe("resolveDomain", () => {
    it("uses the custom domain when one is configured, ignoring the IP", () => {
        fc.assert(
            fc.property(domain, fc.string(), (d, anyIp) => {
                expect(resolveDomain(d, anyIp)).toBe(d);
            }),
        );
    });

    it("falls back to the magic domain of the IP", () => {
        fc.assert(
            fc.property(usableIp, (ip) => {
                expect(resolveDomain(undefined, ip)).toBe(`${ip}.sslip.io`);
            }),
        );
    });

    it("rejects a bad custom domain or a bad IP with a clear error", () => {
        expect(() => resolveDomain("localhost", "203.0.113.7")).toThrow(/custom domain: .*at least two labels/);
        expect(() => resolveDomain(undefined, "my-host")).toThrow(/magic DNS: 'my-host' is not an IPv4/);
    });

    it("isDnsLabel agrees with the RFC 1123 label rules", () => {
        fc.assert(
            fc.property(fc.string({ maxLength: 70 }), (s) => {
                const expected =
                    s.length >= 1 && s.length <= 63 && /^[a-z0-9-]+$/.test(s) && !s.startsWith("-") && !s.endsWith("-");
                expect(isDnsLabel(s)).toBe(expected);
            }),
        );
    });
});
