/**
 * The embedded store's template: what PGlite's initdb makes of an empty directory, made once
 * per PGlite version and copied by a node's first start instead of running initdb again
 * (initdb, in WebAssembly, takes seconds; copying its ≈ 40 MB, tens of milliseconds).
 *
 * A template is initdb's output and nothing else: no schema, no rows, nothing of a node.
 * Migrations, the admin token and the cluster settings still happen at the node's first
 * start, exactly as without it. It is never opened in place, only copied: nodes made from one
 * template share PostgreSQL's system identifier, which idgen reads only to fence an external
 * database (the embedded store has no replication and is not fenced).
 *
 * Layout: `<cache>/pglite-<version>/data/` (the data directory) and `template.json` naming the
 * PGlite version that made it. A template appears by one rename of a complete staging
 * directory, so concurrent first starts (or installs) never see half of one, and one made by
 * another PGlite version is never used. Made by `npm ci` (postinstall,
 * `scripts/embedded-template.ts`), the Docker image, or a first start that found none.
 *
 * Runs where PGlite runs (the store's thread, the install script), never on a node's loop.
 */
import { PGlite } from "@electric-sql/pglite"
import { NodeFS } from "@electric-sql/pglite/nodefs"
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
 * Where templates are kept unless configured (`database.embedded_template_dir`): the
 * `node_modules/.cache/idgen` beside the installed PGlite, so a reinstall (`npm ci`) starts
 * from a fresh one.
 */
export const defaultCache = (): string => Path.resolve(pgliteRoot, "../../.cache/idgen")

/** The template of this PGlite version under `cache`. */
export const location = (cache: string): string => Path.join(cache, `pglite-${pgliteVersion}`)

export type Lookup =
  | { readonly _tag: "Found"; readonly dir: string; readonly data: string }
  | { readonly _tag: "Missing"; readonly dir: string }
  /** Made by another PGlite version, not by idgen, or unreadable: never used. */
  | { readonly _tag: "Unusable"; readonly dir: string; readonly reason: string }

/** This PGlite version's template under `cache`, if it is there and complete. */
export const find = (cache: string): Lookup => {
  const dir = location(cache)
  let marker: unknown
  try {
    marker = JSON.parse(Fs.readFileSync(Path.join(dir, MARKER), "utf8"))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === "ENOENT" && !Fs.existsSync(dir)) return { _tag: "Missing", dir }
    return { _tag: "Unusable", dir, reason: code === undefined ? `unreadable ${MARKER}` : `no ${MARKER} (${code})` }
  }
  const version = (marker as { readonly pglite?: unknown } | null)?.pglite
  if (version !== pgliteVersion) return { _tag: "Unusable", dir, reason: `made by pglite ${String(version)}` }
  const data = Path.join(dir, DATA)
  if (!Fs.existsSync(Path.join(data, "PG_VERSION"))) return { _tag: "Unusable", dir, reason: `no ${DATA}/PG_VERSION` }
  return { _tag: "Found", dir, data }
}

/** Runs PGlite's initdb into `dataDir` (which must not hold a data directory yet) and closes it. */
export const initdb = async (dataDir: string): Promise<void> => {
  const db = await PGlite.create({ fs: new NodeFS(dataDir) })
  await db.close()
}

/** Copies the data directory `from` to `to` (which must not exist), owner-only as PostgreSQL wants it. */
export const copy = (from: string, to: string): void => {
  Fs.cpSync(from, to, { recursive: true, errorOnExist: true, force: false })
  Fs.chmodSync(to, 0o700)
}

/**
 * Publishes a template made in `staging` (a directory beside the template's place, holding
 * `data/`): writes its marker and renames it into place. False when another process
 * published one first (then `staging` is removed).
 */
const publish = (staging: string, cache: string): boolean => {
  Fs.writeFileSync(Path.join(staging, MARKER), `${JSON.stringify({ pglite: pgliteVersion })}\n`)
  try {
    Fs.renameSync(staging, location(cache))
    return true
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error
    Fs.rmSync(staging, { recursive: true, force: true })
    return false
  }
}

/** A staging directory of its own beside the template's place under `cache`. */
const stagingIn = (cache: string): string => {
  Fs.mkdirSync(cache, { recursive: true })
  return Fs.mkdtempSync(Path.join(cache, `.pglite-${pgliteVersion}-staging-`))
}

/** Saves a fresh initdb output (`dataDir`, not yet opened by a node) as the template under `cache`. */
export const save = (dataDir: string, cache: string): boolean => {
  const staging = stagingIn(cache)
  try {
    copy(dataDir, Path.join(staging, DATA))
    return publish(staging, cache)
  } finally {
    Fs.rmSync(staging, { recursive: true, force: true })
  }
}

/** Makes the template under `cache` unless it is there already; what it found or made. */
export const ensure = async (cache: string): Promise<Lookup> => {
  const found = find(cache)
  if (found._tag !== "Missing") return found
  const staging = stagingIn(cache)
  try {
    await initdb(Path.join(staging, DATA))
    publish(staging, cache)
  } finally {
    Fs.rmSync(staging, { recursive: true, force: true })
  }
  return find(cache)
}
