/**
 * The actions the audit log records, the one list its writers are typed by and its `action`
 * filter accepts: a name outside it would match no row, so a query naming one is refused
 * (400 IDGEN-COMMON-0001 listing these) instead of answering an empty page.
 */
import { Schema } from "effect"

/** Refused credentials: rows of their own, sampled when they flood. */
export const keyUseFailureActions = ["verify_api_key", "verify_admin_token"] as const
export type KeyUseFailureAction = (typeof keyUseFailureActions)[number]

/** The action of the row that sums up `action`'s failures sampled out. */
export const suppressed = (action: KeyUseFailureAction) => `${action}_suppressed` as const

export const Action = Schema.Literals([
  // an operator's changes (operator API, `idgen cluster pin`)
  "create_workspace",
  "update_workspace",
  "create_biz_tag",
  "update_biz_tag",
  "delete_biz_tag",
  "create_api_key",
  "revoke_api_key",
  "update_config",
  "reload_config",
  "set_thresholds",
  "pin_cluster_settings",
  // an algorithm leaving or rejoining the fallback chains (by an operator or by its health)
  "degrade",
  "recover",
  ...keyUseFailureActions,
  suppressed("verify_api_key"),
  suppressed("verify_admin_token")
])

export type Action = typeof Action.Type
