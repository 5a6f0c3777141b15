import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { ecrLifecyclePolicy, GatewayImage, gatewayContentTag, gatewayContextFiles, validateGatewayImageArgs } from "../components/aws/gatewayImage";
import { defaultTurboJpegLibrary } from "../gateway/src/config";
import { images } from "../versions";
import { installMocks, promiseOf } from "./kit";

const root = path.resolve(__dirname, "..");

describe("GatewayImage", async () => {
    const rec = await installMocks();
    const prebuilt = new GatewayImage("pre", { image: "123456789012.dkr.ecr.us-east-2.amazonaws.com/gateway:v1" });
    const eks = new GatewayImage("gw", { keepImages: 5 });
    await rec.settle();
    const tag = gatewayContentTag(root);

    it("a prebuilt image creates nothing and is passed through", async () => {
        expect(rec.resources.filter((r) => r.name.startsWith("pre-"))).toEqual([]);
        expect(await promiseOf(prebuilt.imageRef)).toBe("123456789012.dkr.ecr.us-east-2.amazonaws.com/gateway:v1");
    });

    it("eks: ECR repository scans on push, immutable tags, KMS encryption, deleted with its images", () => {
        const repo = rec.one("aws:ecr/repository:Repository", "gw-repo");
        expect(repo.inputs.imageScanningConfiguration).toEqual({ scanOnPush: true });
        expect(repo.inputs.imageTagMutability).toBe("IMMUTABLE");
        expect(repo.inputs.encryptionConfigurations).toEqual([{ encryptionType: "KMS" }]);
        // Without forceDelete, DeleteRepository fails with RepositoryNotEmptyException once an image was pushed.
        expect(repo.inputs.forceDelete).toBe(true);
        expect(repo.parent).toMatch(/GatewayImage::gw$/);
    });

    it("eks: lifecycle policy keeps the newest N images and expires untagged ones", () => {
        const policy = rec.one("aws:ecr/lifecyclePolicy:LifecyclePolicy", "gw-lifecycle");
        const doc = JSON.parse(policy.inputs.policy);
        expect(doc.rules).toHaveLength(2);
        expect(doc.rules[1]).toEqual({ rulePriority: 2, description: "Keep the newest 5 images", selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 5 }, action: { type: "expire" } });
        expect(doc.rules[0].selection).toMatchObject({ tagStatus: "untagged", countType: "sinceImagePushed" });
        expect(policy.inputs.repository).toBe(rec.one("aws:ecr/repository:Repository", "gw-repo").state.name);
    });

    it("eks: pushes gateway/Dockerfile with a content tag and ECR registry auth", () => {
        const image = rec.one("docker-build:index:Image", "gw-image");
        const url = rec.one("aws:ecr/repository:Repository", "gw-repo").state.repositoryUrl;
        expect(image.inputs.push).toBe(true);
        expect(image.inputs.tags).toEqual([`${url}:${tag}`]);
        expect(image.inputs.context).toEqual({ location: root });
        expect(image.inputs.dockerfile).toEqual({ location: path.join(root, "gateway/Dockerfile") });
        expect(image.inputs.buildArgs).toEqual({ NODE_IMAGE: images.gatewayNodeBase });
        expect(image.inputs.platforms).toEqual(["linux/amd64"]);
        expect(image.inputs.registries).toHaveLength(1);
        expect(image.inputs.registries[0].address).toBe(url);
        expect(rec.calls.some((c) => c.token === "aws:ecr/getAuthorizationToken:getAuthorizationToken")).toBe(true);
    });

    it("eks: imageRef falls back to the pushed tag when the provider reports no digest (mocks, previews)", async () => {
        const url = rec.one("aws:ecr/repository:Repository", "gw-repo").state.repositoryUrl;
        expect(await promiseOf(eks.imageRef)).toBe(`${url}:${tag}`);
        expect(await promiseOf(eks.repositoryUrl!)).toBe(url);
    });

    it("validates args with one clear error", () => {
        expect(() => validateGatewayImageArgs({ image: "Not An Image" })).toThrow(/not an image reference/);
        expect(() => validateGatewayImageArgs({ keepImages: 0 })).toThrow(/keepImages/);
        expect(() => validateGatewayImageArgs({ platforms: [] })).toThrow(/platforms must not be empty/);
        expect(() => new GatewayImage("bad", { keepImages: 1.5 })).toThrow(/GatewayImage: keepImages/);
    });
});

describe("content tag and Dockerfile", () => {
    it("covers the files the Dockerfile copies and changes when one of them changes", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gwtag-"));
        try {
            fs.mkdirSync(path.join(dir, "gateway/src"), { recursive: true });
            fs.mkdirSync(path.join(dir, "gateway/proto"), { recursive: true });
            fs.writeFileSync(path.join(dir, "package-lock.json"), "{}");
            fs.writeFileSync(path.join(dir, "gateway/src/main.ts"), "a");
            fs.writeFileSync(path.join(dir, "gateway/proto/x.proto"), "p");
            fs.writeFileSync(path.join(dir, "README.md"), "not in the image");
            expect(gatewayContextFiles(dir)).toEqual(["gateway/src/main.ts", "package-lock.json"]);
            const t1 = gatewayContentTag(dir);
            expect(t1).toMatch(/^g-[0-9a-f]{16}$/);
            fs.writeFileSync(path.join(dir, "README.md"), "changed");
            expect(gatewayContentTag(dir)).toBe(t1);
            fs.writeFileSync(path.join(dir, "gateway/src/main.ts"), "b");
            expect(gatewayContentTag(dir)).not.toBe(t1);
            expect(gatewayContentTag(dir, "node:other")).not.toBe(gatewayContentTag(dir));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the lifecycle policy's 'any' rule has the lowest priority, as ECR requires", () => {
        const rules = ecrLifecyclePolicy(3).rules;
        const any = rules.find((r) => r.selection.tagStatus === "any")!;
        expect(Math.max(...rules.map((r) => r.rulePriority))).toBe(any.rulePriority);
    });

    it("gateway/Dockerfile: pinned base matching versions.ts, multi-stage, non-root, ENTRYPOINT, no dev deps", () => {
        const text = fs.readFileSync(path.join(root, "gateway/Dockerfile"), "utf8");
        expect(text).toContain(`ARG NODE_IMAGE=${images.gatewayNodeBase}`);
        expect(images.gatewayNodeBase).toMatch(/^node:24\.\d+\.\d+-[a-z]+-slim$/);
        expect(text.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(3);
        expect(text).toMatch(/--omit=dev/);
        expect(text).toMatch(/^USER 1000:1000$/m);
        expect(text).toMatch(/^ENTRYPOINT \["node", "--expose-gc", "dist\/main.js"\]$/m);
        const runtime = text.slice(text.lastIndexOf("\nFROM "));
        expect(runtime).not.toMatch(/npm ci|tsc/);
        // TurboJPEG: Debian's libturbojpeg0 ships libturbojpeg.so.0 (bookworm 1:2.1.5-2, read with
        // `dpkg -c`); the gateway's default library name must be that soname, and the image requires it.
        expect(runtime).toMatch(/apt-get install -y --no-install-recommends libturbojpeg0\b/);
        expect(runtime).toMatch(/rm -rf \/var\/lib\/apt\/lists\/\*/);
        expect(runtime).toMatch(/GATEWAY_JPEG_DECODER=libjpeg-turbo/);
        // Node accepts --max-semi-space-size in NODE_OPTIONS (its docs' list of allowed V8 options).
        expect(runtime).toMatch(/NODE_OPTIONS=--max-semi-space-size=1 /);
        // The lazily loaded native modules are checked at build time, as the runtime user, on the built code
        // (gateway/test/turboJpeg.test.ts runs the check itself).
        const selfCheck = runtime.indexOf('RUN ["node", "dist/selfCheck.js"]');
        expect(selfCheck).toBeGreaterThan(runtime.indexOf("USER 1000:1000"));
        expect(runtime.indexOf("COPY --from=build --chown=0:0 /app/gateway/dist /app/gateway/dist")).toBeGreaterThan(0);
        expect(selfCheck).toBeGreaterThan(runtime.indexOf("COPY --from=build --chown=0:0 /app/gateway/dist /app/gateway/dist"));
        // The image relies on the default library name (set nowhere else).
        expect(runtime).not.toMatch(/GATEWAY_TURBOJPEG_LIBRARY=/);
        expect(defaultTurboJpegLibrary).toBe("libturbojpeg.so.0");
        const ignore = fs.readFileSync(path.join(root, "gateway/Dockerfile.dockerignore"), "utf8");
        expect(ignore.split("\n")[2]).toBe("*");
        for (const copied of ["package-lock.json", "gateway/src/**"]) expect(ignore).toContain(`!${copied}`);
    });
});
