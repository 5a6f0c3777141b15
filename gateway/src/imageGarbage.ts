/**
 * Image data passes through short-lived Buffers: the download's socket chunks (copied into one
 * buffer as they arrive) and the PNG rows zlib inflates in 64 KB pieces (pngNearest.ts). Each is
 * garbage at once, but V8 frees its memory only at its next collection, which the external-memory
 * heuristics put off for tens of MB. With --expose-gc (the image's ENTRYPOINT passes it) a
 * young-generation collection (a scavenge) runs after every `bytesPerCollection` of such data, so
 * they are freed within a few MB. Without it, nothing changes.
 */
const bytesPerCollection = 8 * 1024 * 1024;
let sinceCollection = 0;

/** Counts `bytes` of image data that just became garbage; collects the young generation when due. */
export function noteImageGarbage(bytes: number): void {
    sinceCollection += bytes;
    if (sinceCollection < bytesPerCollection) return;
    sinceCollection = 0;
    (globalThis as { gc?: (options: { type: "minor" }) => void }).gc?.({ type: "minor" });
}
