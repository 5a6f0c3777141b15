/**
 * Policy pack entry point: wires the pure policies of `policies.ts` into CrossGuard. Nothing is
 * decided here. Run with `pulumi preview --policy-pack policy`.
 *
 * Resource policies use the generic `validateResource` filtered by type token, so the pack needs no
 * provider SDK and also sees custom resources (InferenceService, AuthorizationPolicy) and the
 * multi-language components of pulumi-eks.
 */
import { PolicyPack, PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { resourcePolicies, ResourceView, stackPolicies } from "./policies";

function viewOf(r: PolicyResource): ResourceView {
    const dependencies = [...r.dependencies, ...Object.values(r.propertyDependencies).flat()].map((d) => d.urn);
    return { type: r.type, name: r.name, urn: r.urn, inputs: r.props, dependencies };
}

new PolicyPack("inference-platform", {
    policies: [
        ...resourcePolicies.map(
            (p): ResourceValidationPolicy => ({
                name: p.name,
                description: p.description,
                enforcementLevel: p.enforcementLevel,
                validateResource: (args, reportViolation) => {
                    if (!p.resourceTypes.includes(args.type)) return;
                    for (const message of p.validate(args.type, args.props, args.name)) reportViolation(message);
                },
            }),
        ),
        ...stackPolicies.map(
            (p): StackValidationPolicy => ({
                name: p.name,
                description: p.description,
                enforcementLevel: p.enforcementLevel,
                validateStack: (args, reportViolation) => {
                    for (const message of p.validate(args.resources.map(viewOf))) reportViolation(message);
                },
            }),
        ),
    ],
});
