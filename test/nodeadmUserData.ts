/**
 * Reads node user data the way its consumers do, so tests can say what a node will be configured
 * with. Both consumers take a MIME multi-part archive and keep its parts:
 * - nodeadm on an EKS AL2023 node (awslabs/amazon-eks-ami nodeadm/doc/examples.md: parts of
 *   `Content-Type: application/node.eks.aws` are NodeConfig documents, merged in order);
 * - Karpenter v1.14.1 for an EC2NodeClass's `userData` (aws/karpenter-provider-aws
 *   pkg/providers/amifamily/bootstrap/nodeadm.go `parseUserData`: text starting with `MIME-Version:`
 *   or `Content-Type:` is read as an archive; mime/mime.go `NewArchive` reads the parts by the
 *   boundary of the top-level `Content-Type`, `ContentTypeNodeConfig` = "application/node.eks.aws").
 */
import { parseAllDocuments } from "yaml";

export interface UserDataPart {
    readonly contentType: string;
    readonly body: string;
}

/** The parts of a MIME multi-part archive, or an error naming what is missing. */
export function mimeParts(text: string): UserDataPart[] {
    if (!/^(MIME-Version:|Content-Type:)/.test(text.trimStart())) throw new Error("user data is not a MIME archive (Karpenter would read it as one NodeConfig or a shell script)");
    const headerEnd = text.indexOf("\n\n");
    const boundary = /^Content-Type: multipart\/[a-z]+; boundary="?([^"\n]+)"?$/m.exec(text.slice(0, headerEnd))?.[1];
    if (!boundary) throw new Error("user data has no multipart Content-Type with a boundary in its headers");
    const body = text.slice(headerEnd + 2);
    if (!body.trimEnd().endsWith(`--${boundary}--`)) throw new Error(`user data does not end with the closing boundary --${boundary}--`);
    return body
        .split(`--${boundary}`)
        .slice(1, -1)
        .map((part) => {
            const [headers, ...rest] = part.replace(/^\n/, "").split("\n\n");
            const contentType = /^Content-Type: (.+)$/m.exec(headers)?.[1] ?? "";
            return { contentType, body: rest.join("\n\n") };
        });
}

/** The NodeConfig documents of the `application/node.eks.aws` parts, in order. */
export function nodeConfigs(text: string): unknown[] {
    return mimeParts(text)
        .filter((p) => p.contentType === "application/node.eks.aws")
        .flatMap((p) => parseAllDocuments(p.body).map((d) => d.toJS()));
}
