/**
 * An admin token copied from an example (deploy/kubernetes's Secret, a compose default)
 * would open the operator API to anyone who read the example: refused at start, like a
 * token too short to resist guessing.
 */
import { Schema } from "effect"

const MIN_LENGTH = 16

/** The markers of the placeholders the examples ship ("CHANGE-ME", "replace-me", …). */
const placeholder = /change[-_ ]?me|replace[-_ ]?me|placeholder/i

/** Why `token` cannot be the admin token, or undefined when it can. */
export const adminTokenProblem = (token: string): string | undefined =>
  token.length < MIN_LENGTH
    ? `${token.length} characters, at least ${MIN_LENGTH} required`
    : placeholder.test(token)
    ? "a placeholder from an example configuration; set a secret of your own (e.g. openssl rand -hex 24)"
    : undefined

/** The admin token's text; `expected` is what the configuration reference says of it. */
export const AdminToken = Schema.String.check(Schema.makeFilter((token: string) => adminTokenProblem(token) ?? true, {
  expected: `at least ${MIN_LENGTH} characters, not an example's placeholder (CHANGE-ME, replace-me)`
}))
