/**
 * Printing results: aligned text tables for people, JSON with `--json` for scripts.
 */
import { Console } from "effect"

export const printJson = (value: unknown) => Console.log(JSON.stringify(value, null, 2))

/** An aligned table of `rows` under `columns` (missing values print as "-"). */
export const table = (columns: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<unknown>>): string => {
  const cells = [columns, ...rows.map((row) => row.map((v) => (v === null || v === undefined ? "-" : String(v))))]
  const widths = columns.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)))
  return cells.map((row) => row.map((cell, i) => (cell ?? "").padEnd(widths[i]!)).join("  ").trimEnd()).join("\n")
}

export const printTable = (columns: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<unknown>>) =>
  Console.log(table(columns, rows))
