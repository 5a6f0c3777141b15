/**
 * Every failure the gateway reports is a `GatewayError`: an HTTP status, a stable machine-readable
 * code and a message safe to show to the caller (no stack traces, no internal addresses).
 */
export type ErrorStatus = 400 | 404 | 405 | 408 | 413 | 415 | 422 | 500 | 502 | 503 | 504;

export class GatewayError extends Error {
    constructor(
        readonly status: ErrorStatus,
        readonly code: string,
        message: string,
        /** Extra response headers (Retry-After on 503). */
        readonly headers: Readonly<Record<string, string>> = {},
    ) {
        super(message);
        this.name = "GatewayError";
    }
}

export const badRequest = (code: string, message: string) => new GatewayError(400, code, message);
export const tooLarge = (code: string, message: string) => new GatewayError(413, code, message);
export const unsupportedMedia = (code: string, message: string) => new GatewayError(415, code, message);
export const unprocessable = (code: string, message: string) => new GatewayError(422, code, message);
export const badGateway = (code: string, message: string) => new GatewayError(502, code, message);
export const requestTimeout = (code: string, message: string) => new GatewayError(408, code, message);
export const unavailable = (code: string, message: string, retryAfterSeconds: number) => new GatewayError(503, code, message, { "retry-after": String(retryAfterSeconds) });
export const gatewayTimeout = (code: string, message: string) => new GatewayError(504, code, message);

/** Turns anything thrown into a GatewayError; unknown errors become an opaque 500. */
export function toGatewayError(err: unknown): GatewayError {
    if (err instanceof GatewayError) return err;
    return new GatewayError(500, "internal", "internal error");
}
