/**
 * `idgen audit`: the audit log, newest first, filtered and paged (operator API).
 */
import { AuditActions } from "@idgen/core"
import { Command, Flag } from "effect/cli"
import * as Admin from "../Admin.ts"
import * as FlagValue from "../FlagValue.ts"

const since = FlagValue.parsed(FlagValue.instant({ ago: true }))

export const audit = Command.make("audit", {
  since: Flag.String("since").pipe(
    Flag.withDescription("Events at or after this time: RFC 3339, a date, or a time ago (30m, 1h, 7d)"),
    since,
    Flag.optional
  ),
  until: Flag.String("until").pipe(
    Flag.withDescription("Events before this time: RFC 3339, a date, or a time ago (30m, 1h, 7d)"),
    since,
    Flag.optional
  ),
  action: Flag.Literals("action", AuditActions.Action.literals).pipe(
    Flag.withDescription("Only this action, e.g. delete_biz_tag"),
    Flag.optional
  ),
  workspace: Flag.String("workspace").pipe(Flag.withAlias("w"), Flag.withDescription("Only events of this workspace"), Flag.optional),
  ...Admin.pageFlags
}, (input) =>
  Admin.printPage(
    (admin) =>
      admin.admin.listAudit({
        query: Admin.given({
          since: input.since,
          until: input.until,
          action: input.action,
          workspace: input.workspace,
          limit: input.limit,
          cursor: input.cursor
        })
      }),
    ["TIME", "TYPE", "ACTOR", "ACTION", "RESOURCE", "RESULT", "NODE"],
    (e) => [e.occurred_at, e.event_type, e.actor, e.action, e.resource, e.result, e.node]
  )).pipe(
  Command.withDescription("Read the audit log, newest first (needs the admin token)"),
  Command.withExamples([
    { command: "idgen audit --workspace shop --action delete_biz_tag", description: "who deleted biz_tags of shop" },
    { command: "idgen audit --since 1h", description: "the last hour" }
  ])
)
