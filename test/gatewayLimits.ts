/**
 * The stack's side of the gateway's memory contract: the pixel budget the gateway gives itself
 * (gateway/src/config.ts) from a container spec's limits, read as it reads them in the pod (its
 * cgroup, gateway/src/containerLimits.ts), on a node with 64 CPUs: the most decode slots (4), so the
 * tightest budget.
 */
import { parseConfig } from "../gateway/src/config";
import { quantityValue } from "./quantity";

/**
 * A 40-MP (8000 × 5000) 4:2:0 progressive JPEG's decode cost in units of 3 bytes: its pixels plus
 * the DCT coefficients libjpeg holds (libjpeg-turbo jdcoefct.c: Y 1000 × 626 blocks, Cb and Cr
 * 500 × 313 each, 128 bytes a block). Worked out by hand, not by the gateway's decodeCost.
 */
export const progressive40MpCost = 8000 * 5000 + ((1000 * 626 + 2 * 500 * 313) * 128) / 3;

interface GatewayContainer {
    readonly args: string[];
    readonly env: { name: string; value: string }[];
    readonly resources: { readonly limits: { readonly cpu: string; readonly memory: string } };
}

/** The gateway's pixel budget in `container` (throws, as its start would, when the limit is too small). */
export function gatewayBudgetIn(container: GatewayContainer): number {
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
    const machine = { memoryLimit: quantityValue(container.resources.limits.memory), cpuLimit: quantityValue(container.resources.limits.cpu), cpus: 64 };
    return parseConfig(container.args, env, machine).config.limits.decodeBudgetPixels;
}
