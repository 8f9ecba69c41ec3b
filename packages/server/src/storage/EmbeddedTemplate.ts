/**
 * The embedded store's template: a data directory as a node's first start leaves it after
 * its migrations — PGlite's initdb output with the schema migrated — made once per PGlite
 * version and schema, and copied by a node's first start on an empty data directory instead
 * of running initdb and the migrations again (initdb, in WebAssembly, takes seconds; the
 * migrations a few hundred milliseconds; copying ≈ 40 MB, about a hundred).
 *
 * It holds nothing of a node: no admin token, no cluster settings, no workspace, no worker id
 * (those are made at the node's first start, as without it). It is keyed by the PGlite
 * version and by a digest of the migrations' sources, so the schema it carries is the one the
 * node's own migrations would make; the node logs them at its first start as before. It is
 * never opened in place, only copied: nodes made from one template share PostgreSQL's system
 * identifier, which idgen reads only to fence an external database (the embedded store has
 * no replication and is not fenced).
 *
 * Layout: `<cache>/pglite-<version>-schema-<digest>/` holding `data/` (the data directory) and
 * `template.json` naming what it was made for. A template appears by one rename of a complete
 * staging directory, so concurrent first starts (or installs) never see half of one. Made by
 * `scripts/embedded-template.ts` (`npm ci`'s postinstall, the Docker image).
 *
 * Only `node:` modules here: the store's thread reads templates, the script makes them.
 */
import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const MARKER = "template.json"
const DATA = "data"

/** The installed PGlite package's directory (…/node_modules/@electric-sql/pglite). */
const pgliteRoot = Path.resolve(Path.dirname(fileURLToPath(import.meta.resolve("@electric-sql/pglite"))), "..")

/** The PGlite version whose initdb a template must come from. */
export const pgliteVersion: string = JSON.parse(Fs.readFileSync(Path.join(pgliteRoot, "package.json"), "utf8")).version

/**
 * The schema a template must carry: a digest of the migrations' sources (`migrations/`, every
 * file, in name order), so a changed or added migration asks for a new template.
 */
export const schemaDigest: string = (() => {
  const dir = Path.join(import.meta.dirname, "migrations")
  const hash = createHash("sha256")
  for (const name of Fs.readdirSync(dir).sort()) {
    hash.update(name).update("\0").update(Fs.readFileSync(Path.join(dir, name))).update("\0")
  }
  return hash.digest("hex").slice(0, 16)
})()

/** What `template.json` says: the PGlite version and the schema the template was made for. */
const marker = { pglite: pgliteVersion, schema: schemaDigest }

/**
 * Where templates are kept unless configured (`database.embedded_template_dir`): the
 * `node_modules/.cache/idgen` beside the installed PGlite, so a reinstall (`npm ci`) starts
 * from a fresh one.
 */
export const defaultCache = (): string => Path.resolve(pgliteRoot, "../../.cache/idgen")

/** The template of this PGlite version and schema under `cache`. */
export const location = (cache: string): string => Path.join(cache, `pglite-${pgliteVersion}-schema-${schemaDigest}`)

export type Lookup =
  | { readonly _tag: "Found"; readonly dir: string; readonly data: string }
  | { readonly _tag: "Missing"; readonly dir: string }
  /** Made for another PGlite version or schema, not by idgen, or unreadable: never used. */
  | { readonly _tag: "Unusable"; readonly dir: string; readonly reason: string }

/** The template of this PGlite version and schema under `cache`, if it is there and complete. */
export const find = (cache: string): Lookup => {
  const dir = location(cache)
  let found: unknown
  try {
    found = JSON.parse(Fs.readFileSync(Path.join(dir, MARKER), "utf8"))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === "ENOENT" && !Fs.existsSync(dir)) return { _tag: "Missing", dir }
    return { _tag: "Unusable", dir, reason: code === undefined ? `unreadable ${MARKER}` : `no ${MARKER} (${code})` }
  }
  const { pglite, schema } = (found ?? {}) as { readonly pglite?: unknown; readonly schema?: unknown }
  if (pglite !== marker.pglite || schema !== marker.schema) {
    return { _tag: "Unusable", dir, reason: `made for pglite ${String(pglite)}, schema ${String(schema)}` }
  }
  const data = Path.join(dir, DATA)
  if (!Fs.existsSync(Path.join(data, "PG_VERSION"))) return { _tag: "Unusable", dir, reason: `no ${DATA}/PG_VERSION` }
  return { _tag: "Found", dir, data }
}

/** Copies the data directory `from` to `to` (which must not exist), owner-only as PostgreSQL wants it. */
export const copy = (from: string, to: string): void => {
  Fs.cpSync(from, to, { recursive: true, errorOnExist: true, force: false })
  Fs.chmodSync(to, 0o700)
}

/** A staging directory of its own beside the template's place under `cache`, for `publish`. */
export const staging = (cache: string): string => {
  Fs.mkdirSync(cache, { recursive: true })
  return Fs.mkdtempSync(Path.join(cache, `.${Path.basename(location(cache))}-staging-`))
}

/** Where `publish` wants the data directory in a staging directory. */
export const stagingData = (stagingDir: string): string => Path.join(stagingDir, DATA)

/**
 * Publishes the template made in `stagingDir` (its data directory at `stagingData`, closed
 * cleanly): writes its marker and renames it into place. False when another process
 * published one first (then `stagingDir` is removed).
 */
export const publish = (stagingDir: string, cache: string): boolean => {
  Fs.writeFileSync(Path.join(stagingDir, MARKER), `${JSON.stringify(marker)}\n`)
  try {
    Fs.renameSync(stagingDir, location(cache))
    return true
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error
    Fs.rmSync(stagingDir, { recursive: true, force: true })
    return false
  }
}
