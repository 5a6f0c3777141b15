import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { checkAddress, classifyAddress, parseCidr, parseIPv6, parseIp } from "../src/netPolicy";
import { parseImageUrl } from "../src/download";

describe("parseIPv6", () => {
    it.each([
        ["::1", [...Array(15).fill(0), 1]],
        ["::", Array(16).fill(0)],
        ["fe80::1%eth0", [0xfe, 0x80, ...Array(13).fill(0), 1]],
        ["::ffff:169.254.169.254", [...Array(10).fill(0), 0xff, 0xff, 169, 254, 169, 254]],
        ["::ffff:a9fe:a9fe", [...Array(10).fill(0), 0xff, 0xff, 169, 254, 169, 254]],
        ["2001:db8::8:800:200c:417a", [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 8, 8, 0, 0x20, 0x0c, 0x41, 0x7a]],
    ])("%s", (text, bytes) => expect(Array.from(parseIPv6(text)!)).toEqual(bytes));

    it("rejects non-addresses", () => {
        expect(parseIPv6("1::2::3")).toBeUndefined();
        expect(parseIp("example.com")).toBeUndefined();
        expect(parseIp("256.1.1.1")).toBeUndefined();
    });
});

describe("classifyAddress / checkAddress", () => {
    it.each([
        ["169.254.169.254", "metadata"],
        ["169.254.169.253", "metadata"],
        ["169.254.1.1", "link-local"],
        ["127.0.0.1", "loopback"],
        ["127.255.0.9", "loopback"],
        ["10.200.0.1", "private"],
        ["172.31.255.255", "private"],
        ["172.32.0.1", "public"],
        ["192.168.0.1", "private"],
        ["100.64.0.1", "carrier-nat"],
        ["0.0.0.0", "unspecified"],
        ["224.0.0.1", "multicast"],
        ["255.255.255.255", "broadcast"],
        ["8.8.8.8", "public"],
        ["::1", "loopback"],
        ["::", "unspecified"],
        ["::ffff:127.0.0.1", "loopback"],
        ["::ffff:10.0.0.1", "private"],
        ["::ffff:169.254.169.254", "metadata"],
        ["::ffff:0:169.254.169.254", "metadata"],
        ["64:ff9b::169.254.169.254", "metadata"],
        ["64:ff9b::8.8.8.8", "public"],
        ["2002:a9fe:a9fe::1", "metadata"],
        ["fd00:ec2::254", "metadata"],
        ["fd12:3456::1", "unique-local"],
        ["fc00::1", "unique-local"],
        ["fe80::abcd", "link-local"],
        ["ff02::1", "multicast"],
        ["2001:db8::1", "documentation"],
        ["2001::1", "tunnel"],
        ["::127.0.0.1", "reserved"],
        ["2a00:1450:4001:81c::200e", "public"],
    ])("%s is %s", (ip, cls) => expect(classifyAddress(parseIp(ip)!)).toBe(cls));

    it("the default policy allows only public addresses", () => {
        expect(checkAddress("8.8.8.8")).toEqual({ allowed: true });
        expect(checkAddress("127.0.0.1")).toEqual({ allowed: false, reason: "loopback" });
        expect(checkAddress("not-an-ip")).toEqual({ allowed: false, reason: "not an IP address" });
    });

    it("allowLoopbackForTests allows loopback and nothing else", () => {
        const p = { allowLoopbackForTests: true };
        expect(checkAddress("127.0.0.1", p).allowed).toBe(true);
        expect(checkAddress("::1", p).allowed).toBe(true);
        expect(checkAddress("10.0.0.1", p).allowed).toBe(false);
        expect(checkAddress("169.254.169.254", p).allowed).toBe(false);
    });

    it("allow-listed CIDRs pass (also as IPv4-mapped), the metadata address never", () => {
        const p = { allowCidrs: [parseCidr("10.20.0.0/16"), parseCidr("169.254.0.0/16"), parseCidr("fd00::/8")] };
        expect(checkAddress("10.20.3.4", p).allowed).toBe(true);
        expect(checkAddress("::ffff:10.20.3.4", p).allowed).toBe(true);
        expect(checkAddress("10.21.3.4", p).allowed).toBe(false);
        expect(checkAddress("fd00:1::1", p).allowed).toBe(true);
        expect(checkAddress("169.254.169.254", p).allowed).toBe(false);
        expect(checkAddress("fd00:ec2::254", p).allowed).toBe(false);
    });

    it("every RFC 1918 address is refused, in both notations", () => {
        const v4 = fc.oneof(
            fc.tuple(fc.constant(10), fc.nat(255), fc.nat(255), fc.nat(255)),
            fc.tuple(fc.constant(172), fc.integer({ min: 16, max: 31 }), fc.nat(255), fc.nat(255)),
            fc.tuple(fc.constant(192), fc.constant(168), fc.nat(255), fc.nat(255)),
        );
        fc.assert(
            fc.property(v4, (parts) => {
                const ip = parts.join(".");
                return !checkAddress(ip).allowed && !checkAddress(`::ffff:${ip}`).allowed;
            }),
        );
    });

    it("parseCidr rejects junk", () => {
        expect(() => parseCidr("10.0.0.0")).toThrow(/not a CIDR/);
        expect(() => parseCidr("10.0.0.0/33")).toThrow(/not a CIDR/);
        expect(() => parseCidr("host/8")).toThrow(/not a CIDR/);
    });
});

describe("parseImageUrl", () => {
    it("accepts http and https, normalising numeric hosts", () => {
        expect(parseImageUrl("https://example.com/a.jpg").hostname).toBe("example.com");
        expect(parseImageUrl("http://2130706433/").hostname).toBe("127.0.0.1");
        expect(parseImageUrl("http://0x7f.1/").hostname).toBe("127.0.0.1");
    });
    it.each(["javascript:alert(1)", "ftp://x/y", "//example.com/a", "http://u:p@x/", "", "http://"])("refuses %s", (u) => {
        expect(() => parseImageUrl(u)).toThrow();
    });
});
