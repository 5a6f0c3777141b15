import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { irsaTrustPolicy, issuerHost } from "../components/aws/irsa";

const dnsLabel = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);

describe("irsaTrustPolicy", () => {
    it("lets exactly one ServiceAccount of one issuer assume the role, for the STS audience", () => {
        fc.assert(
            fc.property(dnsLabel, dnsLabel, fc.constantFrom("https://", ""), (namespace, serviceAccountName, scheme) => {
                const issuer = "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF";
                const doc = irsaTrustPolicy({
                    oidcProviderArn: `arn:aws:iam::111122223333:oidc-provider/${issuer}`,
                    oidcIssuer: `${scheme}${issuer}`,
                    namespace,
                    serviceAccountName,
                });
                const statements = doc.Statement as any[];
                expect(statements).toHaveLength(1);
                const [s] = statements;
                expect(s.Effect).toBe("Allow");
                expect(s.Action).toBe("sts:AssumeRoleWithWebIdentity");
                expect(s.Principal).toEqual({ Federated: `arn:aws:iam::111122223333:oidc-provider/${issuer}` });
                // Only StringEquals: StringLike would let wildcards through.
                expect(Object.keys(s.Condition)).toEqual(["StringEquals"]);
                expect(s.Condition.StringEquals).toEqual({
                    [`${issuer}:sub`]: `system:serviceaccount:${namespace}:${serviceAccountName}`,
                    [`${issuer}:aud`]: "sts.amazonaws.com",
                });
            }),
        );
    });

    it("issuerHost strips the scheme and a trailing slash only", () => {
        expect(issuerHost("https://oidc.example.com/id/X/")).toBe("oidc.example.com/id/X");
        expect(issuerHost("oidc.example.com/id/X")).toBe("oidc.example.com/id/X");
    });
});
