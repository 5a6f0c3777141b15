/**
 * IAM Roles for Service Accounts (IRSA): a pure trust-policy builder and a small component that
 * creates a role a single Kubernetes ServiceAccount can assume, with inline least-privilege policy.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** The cluster's OIDC identity provider, as `eks.Cluster` exposes it. */
export interface OidcProvider {
    /** ARN of the IAM OIDC provider (`arn:aws:iam::<account>:oidc-provider/<issuer host/path>`). */
    readonly arn: pulumi.Input<string>;
    /** Issuer without scheme (`oidc.eks.<region>.amazonaws.com/id/<id>`), the prefix of the condition keys. */
    readonly issuer: pulumi.Input<string>;
}

/** Strips a leading `https://` so callers may pass either form of the issuer. */
export function issuerHost(issuer: string): string {
    return issuer.replace(/^https:\/\//, "").replace(/\/$/, "");
}

/**
 * Trust policy that lets exactly one ServiceAccount assume a role: `StringEquals` on both
 * `<issuer>:sub` and `<issuer>:aud`, so neither another ServiceAccount nor another audience can.
 */
export function irsaTrustPolicy(args: {
    oidcProviderArn: string;
    oidcIssuer: string;
    namespace: string;
    serviceAccountName: string;
}): aws.iam.PolicyDocument {
    const host = issuerHost(args.oidcIssuer);
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Principal: { Federated: args.oidcProviderArn },
                Action: "sts:AssumeRoleWithWebIdentity",
                Condition: {
                    StringEquals: {
                        [`${host}:sub`]: `system:serviceaccount:${args.namespace}:${args.serviceAccountName}`,
                        [`${host}:aud`]: "sts.amazonaws.com",
                    },
                },
            },
        ],
    };
}

export interface IrsaRoleArgs {
    /** The cluster's OIDC provider. Required. */
    readonly oidcProvider: OidcProvider;
    /** Namespace of the ServiceAccount allowed to assume the role. Required. */
    readonly namespace: pulumi.Input<string>;
    /** Name of the ServiceAccount allowed to assume the role. Required. */
    readonly serviceAccountName: pulumi.Input<string>;
    /** Inline permission policy (least privilege, no `*` actions or resources). Required. */
    readonly policy: pulumi.Input<aws.iam.PolicyDocument>;
    /** What the role is for; shown in IAM. Default: `IRSA role for <namespace>/<serviceAccountName>`. */
    readonly description?: pulumi.Input<string>;
    /** Tags on the role. Default: none. */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** An IAM role assumable by one ServiceAccount through the cluster's OIDC provider. */
export class IrsaRole extends pulumi.ComponentResource {
    public readonly role: aws.iam.Role;
    public readonly roleArn: pulumi.Output<string>;

    constructor(name: string, args: IrsaRoleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("inference-platform:aws:IrsaRole", name, {}, opts);
        const trust = pulumi
            .all([args.oidcProvider.arn, args.oidcProvider.issuer, args.namespace, args.serviceAccountName])
            .apply(([oidcProviderArn, oidcIssuer, namespace, serviceAccountName]) =>
                JSON.stringify(irsaTrustPolicy({ oidcProviderArn, oidcIssuer, namespace, serviceAccountName })),
            );
        this.role = new aws.iam.Role(
            `${name}-role`,
            {
                assumeRolePolicy: trust,
                description:
                    args.description ??
                    pulumi.interpolate`IRSA role for ${args.namespace}/${args.serviceAccountName}`,
                tags: args.tags,
            },
            { parent: this },
        );
        new aws.iam.RolePolicy(
            `${name}-policy`,
            { role: this.role.name, policy: pulumi.output(args.policy).apply((p) => JSON.stringify(p)) },
            { parent: this },
        );
        this.roleArn = this.role.arn;
        this.registerOutputs({ roleArn: this.roleArn });
    }
}
