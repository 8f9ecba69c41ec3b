/**
 * An admin token copied from an example (deploy/kubernetes's Secret, a compose default)
 * would open the operator API to anyone who read the example: refused at start, like a
 * token too short to resist guessing.
 */
import { Effect } from "effect"
import { ConfigInvalid } from "./ConfigInvalid.ts"

const MIN_LENGTH = 16

/** The markers of the placeholders the examples ship ("CHANGE-ME", "replace-me", …). */
const placeholder = /change[-_ ]?me|replace[-_ ]?me|placeholder/i

export const checkAdminToken = (token: string | undefined) => {
  if (token === undefined) return Effect.succeed(token)
  if (token.length < MIN_LENGTH) {
    return Effect.fail(
      new ConfigInvalid({
        message: `admin.token (IDGEN_ADMIN_TOKEN): ${token.length} characters, at least ${MIN_LENGTH} required`
      })
    )
  }
  return placeholder.test(token)
    ? Effect.fail(
      new ConfigInvalid({
        message: "admin.token (IDGEN_ADMIN_TOKEN): a placeholder from an example configuration; " +
          "set a secret of your own (e.g. openssl rand -hex 24)"
      })
    )
    : Effect.succeed(token)
}
