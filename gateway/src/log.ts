/** Structured JSON logs, one object per line (what log shippers such as Fluent Bit parse as-is). */
export type LogLevel = "debug" | "info" | "warn" | "error";

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
    debug(msg: string, fields?: Record<string, unknown>): void;
    info(msg: string, fields?: Record<string, unknown>): void;
    warn(msg: string, fields?: Record<string, unknown>): void;
    error(msg: string, fields?: Record<string, unknown>): void;
}

export function isLogLevel(value: string): value is LogLevel {
    return value in order;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stdout.write(l)): Logger {
    const min = order[level];
    const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
        if (order[lvl] < min) return;
        let line: string;
        try {
            line = JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields });
        } catch {
            line = JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, note: "unserialisable fields dropped" });
        }
        write(line + "\n");
    };
    return {
        debug: (m, f) => emit("debug", m, f),
        info: (m, f) => emit("info", m, f),
        warn: (m, f) => emit("warn", m, f),
        error: (m, f) => emit("error", m, f),
    };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
