/**
 * Pulumi aliases for resources the layered structure moved: an existing stack adopts them under
 * their new parents instead of replacing them. Children follow their parent's alias by themselves
 * (Pulumi derives a child's old URN from its parent's), so only the resources that moved carry one.
 */
import * as pulumi from "@pulumi/pulumi";

/** One step of an old parent chain: a component's type token and name. */
export interface FormerParent {
    readonly type: string;
    readonly name: string;
}

/**
 * The URN a resource had before it moved: `type`/`name` under `formerParents` (outermost first;
 * empty when it sat directly under the stack).
 */
export function formerUrn(type: string, name: string, formerParents: readonly FormerParent[] = []): pulumi.Output<string> {
    let parent: pulumi.Output<string> | undefined;
    for (const p of formerParents) parent = pulumi.createUrn(p.name, p.type, parent);
    return pulumi.createUrn(name, type, parent);
}

/** `aliases` for a component registered at the top of the stack before it moved under a layer component. */
export function movedFromStackRoot(type: string, name: string): pulumi.Input<string>[] {
    return [formerUrn(type, name)];
}
