/**
 * The gateway container image: a prebuilt reference from config, or built from gateway/Dockerfile.
 *
 * - `image` given: no resources; `imageRef` is that reference.
 * - no image: a private ECR repository (scan on push, IMMUTABLE tags, KMS encryption, deleted
 *   with its images on destroy, lifecycle policy keeping the last N images) and a
 *   `docker-build` Image pushed there with a content-derived tag (so IMMUTABLE never collides and
 *   an unchanged gateway is not rebuilt), authenticated with `aws.ecr.getAuthorizationTokenOutput`.
 *
 * Building needs Docker (BuildKit) where `pulumi up` runs; setting `gatewayImage` avoids that.
 */
import * as aws from "@pulumi/aws";
import * as dockerBuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { images } from "../../versions";

export interface GatewayImageArgs {
    /** Prebuilt image reference (registry/name:tag or @sha256:digest). Default: build it. */
    readonly image?: string;
    /** Images kept by the ECR lifecycle policy (older ones expire). Default 10. */
    readonly keepImages?: number;
    /** Target platforms of the build. Default `["linux/amd64"]` (EKS x86 nodes). */
    readonly platforms?: readonly ("linux/amd64" | "linux/arm64")[];
    /** Repository root holding gateway/ and the npm lockfile (the build context). Default: this repo. */
    readonly contextDir?: string;
    /** Tags for the ECR repository. Default none. */
    readonly tags?: Record<string, string>;
}

const imageRefPattern = /^[a-z0-9]([a-z0-9._:/-]*[a-z0-9])?(@sha256:[0-9a-f]{64}|:[\w][\w.-]{0,127})?$/;

/** Throws one clear error for invalid args. */
export function validateGatewayImageArgs(args: GatewayImageArgs): void {
    const problems: string[] = [];
    if (args.image !== undefined && !imageRefPattern.test(args.image)) problems.push(`image '${args.image}' is not an image reference (registry/name:tag or @sha256:digest)`);
    if (args.keepImages !== undefined && (!Number.isInteger(args.keepImages) || args.keepImages < 1 || args.keepImages > 1000)) problems.push(`keepImages must be an integer in [1, 1000], not ${args.keepImages}`);
    if (args.platforms !== undefined && args.platforms.length === 0) problems.push("platforms must not be empty");
    if (problems.length > 0) throw new Error(`GatewayImage: ${problems.join("; ")}`);
}

/** Files of the build context that decide the image's content (what gateway/Dockerfile copies). */
export function gatewayContextFiles(root: string): string[] {
    const listDir = (dir: string): string[] =>
        fs.existsSync(path.join(root, dir))
            ? fs
                  .readdirSync(path.join(root, dir), { withFileTypes: true })
                  .flatMap((e) => (e.isDirectory() ? listDir(path.join(dir, e.name)) : [path.join(dir, e.name)]))
            : [];
    const fixed = ["package.json", "package-lock.json", "gateway/package.json", "gateway/tsconfig.json", "gateway/Dockerfile", "gateway/Dockerfile.dockerignore"].filter((f) => fs.existsSync(path.join(root, f)));
    return [...fixed, ...listDir("gateway/src")].sort();
}

/** Content tag: sha256 over the context files' paths and bytes, plus the base image, 16 hex digits. */
export function gatewayContentTag(root: string, baseImage: string = images.gatewayNodeBase): string {
    const h = createHash("sha256");
    h.update(`base:${baseImage}\n`);
    for (const f of gatewayContextFiles(root)) {
        h.update(`${f}\n`);
        h.update(fs.readFileSync(path.join(root, f)));
        h.update("\n");
    }
    return `g-${h.digest("hex").slice(0, 16)}`;
}

/** ECR lifecycle policy: expire untagged images after a day, keep the newest `keep` images. */
export function ecrLifecyclePolicy(keep: number) {
    return {
        rules: [
            { rulePriority: 1, description: "Expire untagged images after 1 day", selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 1 }, action: { type: "expire" } },
            { rulePriority: 2, description: `Keep the newest ${keep} images`, selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: keep }, action: { type: "expire" } },
        ],
    };
}

export class GatewayImage extends pulumi.ComponentResource {
    /** Image reference for Deployments/InferenceServices (tag@digest once pushed). */
    public readonly imageRef: pulumi.Output<string>;
    /** The ECR repository URL (builds only). */
    public readonly repositoryUrl: pulumi.Output<string> | undefined;

    constructor(name: string, args: GatewayImageArgs, opts?: pulumi.ComponentResourceOptions) {
        validateGatewayImageArgs(args);
        super("inference-platform:gateway:GatewayImage", name, {}, opts);

        if (args.image !== undefined) {
            this.imageRef = pulumi.output(args.image);
            this.repositoryUrl = undefined;
            this.registerOutputs({ imageRef: this.imageRef });
            return;
        }

        const root = args.contextDir ?? path.resolve(__dirname, "../..");
        const tag = gatewayContentTag(root);
        const common = {
            context: { location: root },
            dockerfile: { location: path.join(root, "gateway/Dockerfile") },
            buildArgs: { NODE_IMAGE: images.gatewayNodeBase },
            platforms: [...(args.platforms ?? ["linux/amd64"])] as dockerBuild.Platform[],
        };

        const repo = new aws.ecr.Repository(
            `${name}-repo`,
            {
                imageTagMutability: "IMMUTABLE",
                imageScanningConfiguration: { scanOnPush: true },
                encryptionConfigurations: [{ encryptionType: "KMS" }], // AWS-managed aws/ecr key
                // Images are rebuilt from gateway/ on every up, so nothing is lost with them; without
                // forceDelete, ECR refuses to delete a repository that holds images
                // (RepositoryNotEmptyException) and `pulumi destroy` stops there.
                forceDelete: true,
                tags: { "app.kubernetes.io/part-of": "inference-platform", "app.kubernetes.io/managed-by": "pulumi", ...args.tags },
            },
            { parent: this },
        );
        new aws.ecr.LifecyclePolicy(`${name}-lifecycle`, { repository: repo.name, policy: JSON.stringify(ecrLifecyclePolicy(args.keepImages ?? 10)) }, { parent: this });
        const auth = aws.ecr.getAuthorizationTokenOutput({ registryId: repo.registryId }, { parent: this });
        const tagged = pulumi.interpolate`${repo.repositoryUrl}:${tag}`;
        const image = new dockerBuild.Image(
            `${name}-image`,
            {
                ...common,
                tags: [tagged],
                push: true,
                registries: [{ address: repo.repositoryUrl, username: auth.userName, password: pulumi.secret(auth.password) }],
            },
            { parent: this },
        );
        // `ref` is tag@digest after a push; it is empty in previews, where the tag stands in.
        this.imageRef = pulumi.all([image.ref, tagged]).apply(([ref, t]) => (ref ? ref : t));
        this.repositoryUrl = repo.repositoryUrl;
        this.registerOutputs({ imageRef: this.imageRef, repositoryUrl: this.repositoryUrl });
    }
}
