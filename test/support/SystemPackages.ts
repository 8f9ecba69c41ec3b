/**
 * Debian packages the black-box suites run (etcd, libfaketime, Prometheus and its tools,
 * kubectl), installed on first use so that a fresh machine needs no manual step. Called from the global setup only — one
 * `apt-get` at a time; parallel test workers would fight over the dpkg lock.
 */
import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"

export const ETCD_BINARY = "/usr/bin/etcd"
export const PROMETHEUS_BINARY = "/usr/bin/prometheus"
export const PROMTOOL_BINARY = "/usr/bin/promtool"
export const AMTOOL_BINARY = "/usr/bin/amtool"
export const KUBECTL_BINARY = "/usr/bin/kubectl"

/** The thread-safe variant: Node reads the clock from several threads. */
const LIBFAKETIME_CANDIDATES = [
  "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
  "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
  "/usr/lib/faketime/libfaketimeMT.so.1"
]

/** The installed libfaketime (MT), or undefined. */
export const libfaketime = (): string | undefined => LIBFAKETIME_CANDIDATES.find((path) => existsSync(path))

interface Requirement {
  /** The Debian package. */
  readonly pkg: string
  readonly installed: () => boolean
}

const requirements: ReadonlyArray<Requirement> = [
  { pkg: "etcd-server", installed: () => existsSync(ETCD_BINARY) },
  { pkg: "faketime", installed: () => libfaketime() !== undefined },
  // The operations suites: a real Prometheus scraping a node, promtool and amtool on deploy/.
  { pkg: "prometheus", installed: () => existsSync(PROMETHEUS_BINARY) && existsSync(PROMTOOL_BINARY) },
  { pkg: "prometheus-alertmanager", installed: () => existsSync(AMTOOL_BINARY) },
  // `kubectl kustomize` on deploy/kubernetes.
  { pkg: "kubernetes-client", installed: () => existsSync(KUBECTL_BINARY) }
]

const aptGet = (args: ReadonlyArray<string>) =>
  execFileSync("apt-get", [...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    timeout: 600_000
  })

/**
 * Installs etcd-server and faketime when missing with `apt-get install -y`, running
 * `apt-get update` first when the install cannot find them (a fresh machine may have no
 * package lists yet).
 */
export const ensureInstalled = () => {
  const missing = () => requirements.filter((r) => !r.installed()).map((r) => r.pkg)
  const wanted = missing()
  if (wanted.length === 0) return
  try {
    aptGet(["install", "-y", "-q", ...wanted])
  } catch {
    aptGet(["update", "-q"])
    aptGet(["install", "-y", "-q", ...wanted])
  }
  const still = missing()
  if (still.length > 0) throw new Error(`apt-get did not install: ${still.join(", ")}`)
}
