/**
 * Kubernetes contract tests: shared vocabulary.
 *
 * A contract test checks what we render against what the *reader* of it does: the chart template
 * that writes the object, the controller that selects it, the Go code that parses the ConfigMap key.
 * The expected side of every assertion is an upstream fact, written down here with where it comes
 * from (repository, tag, file, function or line) at the version `versions.ts` pins, never
 * a value taken from the code under test. When a pin moves, each cited source must be re-read and
 * the facts updated; the citation says exactly where to look.
 *
 * The charts and Go sources are not available offline in CI, so their facts are transcribed (short
 * lists of names and rules, not code). Where `../shared/schemas` holds an upstream data file, the
 * tests read it in place as well.
 */

/** Where an upstream fact comes from. */
export interface Source {
    /** GitHub `owner/name`. */
    readonly repo: string;
    /** Git tag the fact was read at (the version we pin). */
    readonly tag: string;
    readonly file: string;
    /** Function, template define, constant or line the fact is in. */
    readonly at: string;
}

/** `owner/name@tag:file (at)`, for assertion messages. */
export function cite(source: Source): string {
    return `${source.repo}@${source.tag}:${source.file} (${source.at})`;
}
