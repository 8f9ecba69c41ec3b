/**
 * The deployment artifacts of `deploy/`, checked without Docker or Kubernetes (neither
 * runs here): the Prometheus configs and rules with `promtool` (including the rules' unit
 * tests), the Alertmanager config with `amtool`, the rule file generated from the node's
 * built-in rules, the Kubernetes manifests with `kubectl kustomize` and, with the compose
 * file, structurally (and their
 * idgen configuration through the real loader), the Grafana dashboard, and the Dockerfile
 * with a Dockerfile linter.
 */
import { assert, describe, it } from "@effect/vitest"
import { validate as lintDockerfile } from "dockerfile-utils"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parseAllDocuments, parse as parseYaml } from "yaml"
import { load } from "@idgen/server/config/ConfigLoader"
import { examplePath, readmePath, renderExample, updatedReadme } from "../../scripts/config-reference.ts"
import { render as renderRules, rulesPath } from "../../scripts/prometheus-rules.ts"
import { startFlags } from "../../scripts/start-flags.ts"
import { ADMIN_TOKEN } from "../support/ServerProcess.ts"
import { AMTOOL_BINARY, KUBECTL_BINARY, PROMTOOL_BINARY } from "../support/SystemPackages.ts"

const root = resolve(import.meta.dirname, "../..")
const deploy = (...path: Array<string>) => join(root, "deploy", ...path)
const read = (path: string) => readFileSync(path, "utf8")

const run = (binary: string, args: ReadonlyArray<string>) => {
  try {
    return execFileSync(binary, [...args], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
  } catch (error: any) {
    throw new Error(`${binary} ${args.join(" ")} failed:\n${error.stdout ?? ""}${error.stderr ?? ""}`)
  }
}

/** Every `idgen_*` metric name the server defines (in quotes, as passed to Metric.*). */
const definedMetrics = (() => {
  const names = new Set<string>()
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (path.endsWith(".ts")) for (const m of read(path).matchAll(/"(idgen_[a-z0-9_]+)"/g)) names.add(m[1]!)
    }
  }
  walk(join(root, "packages/server/src"))
  return names
})()

/** Asserts that every `idgen_*` series an expression reads is one the server defines. */
const assertKnownMetrics = (expr: string, where: string) => {
  for (const [name] of expr.matchAll(/\bidgen_[a-z0-9_]+/g)) {
    const family = name.replace(/_(bucket|count|sum)$/, "")
    assert.isTrue(definedMetrics.has(name) || definedMetrics.has(family), `${where}: unknown metric ${name}`)
  }
}

describe("deploy/prometheus and deploy/alertmanager", () => {
  it("promtool accepts both Prometheus configs and the rules, and the rules' unit tests pass", () => {
    assert.include(run(PROMTOOL_BINARY, ["check", "config", deploy("prometheus/prometheus.yml")]), "SUCCESS")
    assert.include(run(PROMTOOL_BINARY, ["check", "config", deploy("prometheus/prometheus-kubernetes.yml")]), "SUCCESS")
    assert.include(run(PROMTOOL_BINARY, ["check", "rules", rulesPath]), "SUCCESS")
    assert.include(run(PROMTOOL_BINARY, ["test", "rules", deploy("prometheus/rules/idgen-alerts.test.yml")]), "SUCCESS")
  })

  it("amtool accepts the Alertmanager config", () => {
    assert.include(run(AMTOOL_BINARY, ["check-config", deploy("alertmanager/alertmanager.yml")]), "SUCCESS")
  })

  it("the rule file is the node's built-in rules (node scripts/prometheus-rules.ts)", () => {
    assert.strictEqual(read(rulesPath), renderRules(), "out of date: run node scripts/prometheus-rules.ts")
    const rules = parseYaml(read(rulesPath)).groups[0].rules as Array<{ alert: string; expr: string }>
    for (const rule of rules) assertKnownMetrics(rule.expr, rule.alert)
  })
})

describe("deploy/kubernetes", () => {
  const docs = readdirSync(deploy("kubernetes"))
    .filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")
    .flatMap((file) =>
      parseAllDocuments(read(deploy("kubernetes", file))).map((doc) => {
        assert.deepStrictEqual(doc.errors, [], file)
        return { file, ...(doc.toJS() as any) }
      })
    )
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind)
  const one = (kind: string) => {
    const found = byKind(kind)
    assert.strictEqual(found.length, 1, kind)
    return found[0]
  }

  it("has every resource, each with apiVersion, kind and a name in the idgen namespace", () => {
    for (const kind of ["Namespace", "ConfigMap", "Secret", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget"]) {
      one(kind)
    }
    assert.strictEqual(byKind("Service").length, 3)
    for (const doc of docs) {
      assert.isString(doc.apiVersion, doc.file)
      assert.isString(doc.metadata?.name, doc.file)
      if (doc.kind !== "Namespace") assert.strictEqual(doc.metadata.namespace, "idgen", doc.file)
    }
    const kustomization = parseYaml(read(deploy("kubernetes/kustomization.yaml")))
    for (const resource of kustomization.resources) assert.isTrue(existsSync(deploy("kubernetes", resource)), resource)
    // kustomize itself builds the same resources.
    const built = parseAllDocuments(run(KUBECTL_BINARY, ["kustomize", deploy("kubernetes")])).map((d) => d.toJS())
    const names = (list: Array<any>) => list.map((d) => `${d.kind}/${d.metadata.name}`).sort()
    assert.deepStrictEqual(names(built), names(docs))
  })

  it("the Deployment: anti-affinity, probes on /live and /ready, resources, non-root, config wiring", () => {
    const deployment = one("Deployment")
    const labels = deployment.spec.template.metadata.labels
    assert.deepInclude(labels, deployment.spec.selector.matchLabels)
    const pod = deployment.spec.template.spec
    const anti = pod.affinity.podAntiAffinity
    const terms = [
      ...(anti.requiredDuringSchedulingIgnoredDuringExecution ?? []),
      ...(anti.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((t: any) => t.podAffinityTerm)
    ]
    assert.isTrue(terms.some((t: any) => t.topologyKey === "kubernetes.io/hostname"))
    assert.isTrue(pod.securityContext.runAsNonRoot)
    assert.notStrictEqual(pod.securityContext.runAsUser, 0)
    const [container] = pod.containers
    const portNames = container.ports.map((p: any) => p.name)
    assert.includeMembers(portNames, ["http", "grpc"])
    assert.strictEqual(container.livenessProbe.httpGet.path, "/live")
    assert.strictEqual(container.readinessProbe.httpGet.path, "/ready")
    assert.include(portNames, container.readinessProbe.httpGet.port)
    for (const kind of ["requests", "limits"]) {
      assert.isString(container.resources[kind].cpu, kind)
      assert.isString(container.resources[kind].memory, kind)
    }
    assert.isFalse(container.securityContext.allowPrivilegeEscalation)
    const configMap = one("ConfigMap")
    const secret = one("Secret")
    assert.deepInclude(container.envFrom, { configMapRef: { name: configMap.metadata.name } })
    assert.deepInclude(container.envFrom, { secretRef: { name: secret.metadata.name } })
    const mount = container.volumeMounts.find((m: any) => m.name === "config")
    assert.strictEqual(`${mount.mountPath}/idgen.toml`, configMap.data.IDGEN_CONFIG)
    assert.strictEqual(deployment.spec.template.metadata.annotations["prometheus.io/path"], "/metrics")
  })

  it("Services, HPA and PDB select the Deployment's pods", () => {
    const deployment = one("Deployment")
    const labels = deployment.spec.template.metadata.labels
    const matches = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v)
    for (const service of byKind("Service")) assert.isTrue(matches(service.spec.selector), service.metadata.name)
    const service = (name: string) => byKind("Service").find((s) => s.metadata.name === name)
    // Prometheus discovers the pods through the headless Service that also lists not-ready ones.
    const [scraped] = parseYaml(read(deploy("prometheus/prometheus-kubernetes.yml"))).scrape_configs
      .find((j: any) => j.job_name === "idgen").dns_sd_configs[0].names
    const scraping = service(scraped.split(".")[0])
    assert.strictEqual(scraped, `${scraping.metadata.name}.${scraping.metadata.namespace}.svc.cluster.local`)
    assert.strictEqual(scraping.spec.clusterIP, "None")
    assert.isTrue(scraping.spec.publishNotReadyAddresses, "a not-ready node is still scraped")
    // gRPC clients balance over a headless Service of ready pods only, not the ClusterIP one.
    const grpc = service("idgen-grpc")
    assert.strictEqual(grpc.spec.clusterIP, "None")
    assert.notStrictEqual(grpc.spec.publishNotReadyAddresses, true)
    assert.deepInclude(grpc.spec.ports, { name: "grpc", port: 50051, targetPort: "grpc", appProtocol: "grpc" })
    const hpa = one("HorizontalPodAutoscaler")
    assert.deepStrictEqual(hpa.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name })
    assert.strictEqual(hpa.spec.metrics[0].resource.name, "cpu")
    assert.isAtLeast(hpa.spec.minReplicas, 2)
    const pdb = one("PodDisruptionBudget")
    assert.isTrue(matches(pdb.spec.selector.matchLabels))
    assert.isBelow(pdb.spec.minAvailable, hpa.spec.minReplicas)
  })

  it.effect("the ConfigMap's idgen.toml and environment load through the real config loader", () =>
    Effect.gen(function*() {
      const configMap = one("ConfigMap")
      const secret = one("Secret")
      const dir = mkdtempSync(join(tmpdir(), "idgen-deploy-"))
      try {
        const file = join(dir, "idgen.toml")
        writeFileSync(file, configMap.data["idgen.toml"])
        const { "idgen.toml": _, ...env } = configMap.data
        // The Secret's token is a placeholder the node refuses (test/operations/admin-token-placeholder.test.ts).
        const config = yield* load({ ...env, ...secret.stringData, IDGEN_ADMIN_TOKEN: ADMIN_TOKEN, IDGEN_CONFIG: file })
        assert.strictEqual(config.etcd.endpoints.length, 3)
        // Prometheus (prometheus-kubernetes.yml) sends the alerts; the nodes do not send them again.
        assert.deepStrictEqual(config.alerting.alertmanagerUrls, [])
        assert.isNotEmpty(parseYaml(read(deploy("prometheus/prometheus-kubernetes.yml"))).alerting.alertmanagers)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }))
})

describe("deploy/compose", () => {
  const compose = parseYaml(read(deploy("compose/docker-compose.yml")), { merge: true })

  it("runs PostgreSQL, Redis, 3 etcd members, 3 idgen nodes, Prometheus, Alertmanager and Grafana", () => {
    assert.includeMembers(Object.keys(compose.services), [
      "postgres", "redis", "etcd-1", "etcd-2", "etcd-3", "idgen-1", "idgen-2", "idgen-3", "prometheus", "alertmanager", "grafana"
    ])
    const nodes = ["idgen-1", "idgen-2", "idgen-3"].map((name) => compose.services[name])
    assert.strictEqual(new Set(nodes.map((n) => n.environment.IDGEN_NODE_NAME)).size, 3)
    for (const node of nodes) {
      assert.strictEqual(node.build.dockerfile, "deploy/docker/Dockerfile")
      assert.strictEqual(node.environment.IDGEN_ETCD_ENDPOINTS.split(",").length, 3)
    }
    const prometheusTargets = parseYaml(read(deploy("prometheus/prometheus.yml"))).scrape_configs
      .find((j: any) => j.job_name === "idgen").static_configs[0].targets
    assert.sameMembers(prometheusTargets, ["idgen-1:8080", "idgen-2:8080", "idgen-3:8080"])
    // Every bind-mounted path exists in the repository.
    for (const service of Object.values<any>(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = String(volume).split(":")[0]!
        if (source.startsWith(".")) assert.isTrue(existsSync(resolve(deploy("compose"), source)), source)
      }
    }
  })

  it.effect("the nodes' idgen.toml loads through the real config loader", () =>
    Effect.gen(function*() {
      const env = compose.services["idgen-1"].environment
      const config = yield* load({
        ...env,
        IDGEN_ADMIN_TOKEN: ADMIN_TOKEN,
        IDGEN_CONFIG: deploy("compose/idgen.toml")
      })
      assert.strictEqual(config.node.name, "idgen-1")
      // No default token: compose stops unless the operator sets one.
      assert.match(env.IDGEN_ADMIN_TOKEN, /^\$\{IDGEN_ADMIN_TOKEN:\?[^}]+\}$/)
      assert.deepStrictEqual(config.alerting.alertmanagerUrls, [])
    }))

  it("each alert reaches Alertmanager once, from Prometheus, and every receiver it names exists", () => {
    // Prometheus evaluates the node's rules and sends to the compose Alertmanager...
    const prometheus = parseYaml(read(deploy("prometheus/prometheus.yml")))
    assert.include(prometheus.rule_files, "rules/idgen-alerts.yml")
    const [target] = prometheus.alerting.alertmanagers[0].static_configs[0].targets
    assert.strictEqual(target, "alertmanager:9093")
    assert.include(compose.services.alertmanager.ports, "9093:9093")
    // ...while no node posts the same alerts (the toml sets no alertmanager_urls, nor does the environment).
    assert.notMatch(read(deploy("compose/idgen.toml")), /^\s*alertmanager_urls/m)
    for (const name of ["idgen-1", "idgen-2", "idgen-3"]) {
      assert.notProperty(compose.services[name].environment, "IDGEN_ALERTMANAGER_URLS", name)
    }
    // A receiver names a service that exists (no sink the compose file does not run).
    const alertmanager = parseYaml(read(deploy("alertmanager/alertmanager.yml")))
    assert.include(alertmanager.receivers.map((r: any) => r.name), alertmanager.route.receiver)
    const hosts = alertmanager.receivers.flatMap((receiver: any) =>
      Object.entries<any>(receiver).filter(([key]) => key.endsWith("_configs"))
        .flatMap(([, configs]) => configs.map((c: any) => new URL(c.url).hostname))
    )
    for (const host of hosts.filter((h: string) => !h.includes("."))) assert.property(compose.services, host)
  })
})

describe("deploy/grafana", () => {
  it("the dashboard covers throughput, latency, buffers, capacity, clock, degradation and alerts over known metrics", () => {
    const dashboard = JSON.parse(read(deploy("grafana/dashboards/idgen.json")))
    assert.strictEqual(dashboard.uid, "idgen-overview")
    const rows = dashboard.panels.filter((p: any) => p.type === "row").map((p: any) => p.title.toLowerCase())
    for (const topic of ["throughput", "latency", "buffers", "capacity", "clock", "degradation", "alerts"]) {
      assert.isTrue(rows.some((r: string) => r.includes(topic)), topic)
    }
    const ids = dashboard.panels.map((p: any) => p.id)
    assert.strictEqual(new Set(ids).size, ids.length, "panel ids are unique")
    for (const panel of dashboard.panels.filter((p: any) => p.type !== "row")) {
      assert.isAbove(panel.targets.length, 0, panel.title)
      for (const key of ["h", "w", "x", "y"]) assert.isNumber(panel.gridPos[key], panel.title)
      assert.isAtMost(panel.gridPos.x + panel.gridPos.w, 24, panel.title)
      for (const target of panel.targets) assertKnownMetrics(target.expr, panel.title)
    }
    const datasources = parseYaml(read(deploy("grafana/provisioning/datasources/prometheus.yml")))
    assert.strictEqual(datasources.datasources[0].type, "prometheus")
  })
})

describe("deploy/docker", () => {
  const dockerfile = read(deploy("docker/Dockerfile"))

  it("passes the Dockerfile linter (dockerfile-utils) with no findings", () => {
    assert.deepStrictEqual(lintDockerfile(dockerfile).map((d) => `${d.range.start.line + 1}: ${d.message}`), [])
  })

  it("is multi-stage on Node 24 slim, runs as a non-root user, and copies only what exists", () => {
    const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)]
    assert.isAtLeast(stages.length, 2)
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:24[\w.-]*-slim$/m)
    const final = dockerfile.slice(stages[stages.length - 1]!.index)
    const user = /^USER\s+(\S+)/m.exec(final)
    assert.isNotNull(user, "the final stage sets USER")
    assert.notInclude(["root", "0"], user![1])
    assert.match(final, /^HEALTHCHECK /m)
    // The server's own Node options, as `npm start` has them (scripts/start-flags.ts).
    const entrypoint = ["node", "--conditions=@idgen/source", ...startFlags(), "packages/server/src/main.js"]
    assert.include(final.split("\n"), `ENTRYPOINT ${JSON.stringify(entrypoint).replaceAll(",", ", ")}`)
    for (const [, source] of dockerfile.matchAll(/^COPY (?!--from)(?:--\S+\s+)*(\S+)\s+\S+$/gm)) {
      assert.isTrue(existsSync(join(root, source!)), `COPY ${source}`)
    }
  })
})

describe("README.md", () => {
  it("the configuration reference and the alert rule table are generated from the code (npm run ops:config-docs)", () => {
    const readme = read(readmePath)
    assert.strictEqual(readme, updatedReadme(readme), "out of date: run npm run ops:config-docs")
  })

  it.effect("deploy/idgen.example.toml is generated from the settings, and with every key uncommented it is the defaults", () =>
    Effect.gen(function*() {
      const example = read(examplePath)
      assert.strictEqual(example, renderExample(), "out of date: run npm run ops:config-docs")
      const dir = mkdtempSync(join(tmpdir(), "idgen-example-"))
      try {
        const file = join(dir, "idgen.toml")
        writeFileSync(file, example.replace(/^# (\w+ = )/gm, "$1"))
        assert.deepStrictEqual(yield* load({ IDGEN_CONFIG: file }), yield* load({}))
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }))

  it("every metric the Operating section names exists", () => {
    const readme = read(readmePath)
    const section = readme.slice(readme.indexOf("## Operating idgen"), readme.indexOf("### Alerts"))
    for (const [, name] of section.matchAll(/`(idgen_[a-z0-9_]+)`/g)) assertKnownMetrics(name!, "README")
  })
})
