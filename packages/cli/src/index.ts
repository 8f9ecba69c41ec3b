/**
 * The pieces of the `idgen` command line that other tools reuse (the bench harness drives
 * its load generator).
 */
export * as Drivers from "./bench/Drivers.ts"
export * as Load from "./bench/Load.ts"
export * as Stats from "./bench/Stats.ts"
