/**
 * The restricted Pod Security profile our own workloads run under: one definition, so every
 * Deployment, Job and transformer is hardened the same way (the policy pack checks the result).
 */
import * as k8s from "@pulumi/kubernetes";

/** UID/GID our images and the images we pin run as (not root, not the image's choice). */
export const defaultWorkloadUid = 1000;

/** Container: non-root, read-only root filesystem, no privilege escalation, no capabilities. */
export function restrictedContainerSecurityContext(uid: number = defaultWorkloadUid): k8s.types.input.core.v1.SecurityContext & {
    readonly runAsNonRoot: true;
    readonly readOnlyRootFilesystem: true;
    readonly allowPrivilegeEscalation: false;
} {
    return {
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: uid,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** Pod: non-root with `fsGroup`, so emptyDir and PVC volumes are writable by the workload's group. */
export function restrictedPodSecurityContext(uid: number = defaultWorkloadUid): k8s.types.input.core.v1.PodSecurityContext {
    return { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, seccompProfile: { type: "RuntimeDefault" } };
}
