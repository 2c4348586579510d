/**
 * A trigger's condition (R17) and its compilation to an EventBridge event pattern, so that the
 * cloud (EventBridge rules) and local mode (`matchesPattern` on the local bus) decide alike.
 *
 * Semantics, which the compiled pattern reproduces exactly on every well-formed event (R16):
 * `==` is strict equality; `!=` is its negation (so `Reason != "x"` holds when there is no
 * Reason); `<` and `>` compare numbers (Items only); `and` / `or` as usual. `Changed` (the
 * outcome differs from the previous one of the same Mode, shared/events/outcome.ts) is on every
 * published event.
 */
import { z } from "zod";
import { EVENT_SOURCE, SYNC_EVENT, type SyncMode, syncModes } from "../sync/events.ts";
import type { EventPattern } from "./pattern.ts";

/** Variables of the `Failover Synchronization` event that a trigger condition can test (R16). */
export const eventVariables = [
  "Success",
  "Mode",
  "Items",
  "Reason",
  "Primary",
  "Failover",
  "Changed",
] as const;
export type EventVariable = (typeof eventVariables)[number];
export type Operator = "==" | "!=" | "<" | ">";

export type Comparison =
  | { variable: "Success" | "Changed"; op: "==" | "!="; value: boolean }
  | { variable: "Mode"; op: "==" | "!="; value: SyncMode }
  | { variable: "Items"; op: Operator; value: number }
  | { variable: "Reason" | "Primary" | "Failover"; op: "==" | "!="; value: string };
export type Condition = Comparison | { and: Condition[] } | { or: Condition[] };

/** EventBridge compares numbers exactly within ±5e9; counts stay far inside that. */
const MAX_NUMBER = 1e9;
const MAX_STRING = 256;
const MAX_BRANCHES = 10;
const MAX_DEPTH = 5;
/** Conjunctions after distributing `and` over `or`; each becomes a `$or` branch. */
const MAX_TERMS = 32;
/** EventBridge's default quota for an event pattern. */
export const MAX_PATTERN_LENGTH = 2048;

// ---------------------------------------------------------------------------------------------
// Validation: a hand-written check so each message names the exact field (400 `field: message`).
// ---------------------------------------------------------------------------------------------

type Issue = { path: (string | number)[]; message: string };
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function checkComparison(value: Record<string, unknown>, path: (string | number)[]): Issue[] {
  const unknownKey = Object.keys(value).find((key) => !["variable", "op", "value"].includes(key));
  if (unknownKey) return [{ path: [...path, unknownKey], message: "unknown field" }];
  const variable = value.variable;
  if (!eventVariables.includes(variable as EventVariable)) {
    return [
      {
        path: [...path, "variable"],
        message: `must be one of ${eventVariables.join(", ")} (or use and/or)`,
      },
    ];
  }
  const op = value.op;
  const numeric = variable === "Items";
  const ops: readonly unknown[] = numeric ? ["==", "!=", "<", ">"] : ["==", "!="];
  if (!ops.includes(op)) {
    const message = numeric
      ? "must be ==, !=, < or >"
      : `must be == or != (< and > compare numbers: Items only)`;
    return [{ path: [...path, "op"], message }];
  }
  const v = value.value;
  const at = [...path, "value"];
  switch (variable) {
    case "Success":
    case "Changed":
      return typeof v === "boolean" ? [] : [{ path: at, message: `${variable} is true or false` }];
    case "Mode":
      return syncModes.includes(v as SyncMode)
        ? []
        : [
            {
              path: at,
              message: `Mode is one of ${syncModes.map((mode) => `"${mode}"`).join(", ")}`,
            },
          ];
    case "Items":
      return Number.isInteger(v) && Math.abs(v as number) <= MAX_NUMBER
        ? []
        : [
            {
              path: at,
              message: `Items compares with an integer from -${MAX_NUMBER} to ${MAX_NUMBER}`,
            },
          ];
    default:
      return typeof v === "string" && v.length <= MAX_STRING
        ? []
        : [
            {
              path: at,
              message: `${String(variable)} compares with a string of at most ${MAX_STRING} characters`,
            },
          ];
  }
}

function checkCondition(value: unknown, path: (string | number)[], depth: number): Issue[] {
  if (!isObject(value)) return [{ path, message: "must be a comparison or {and|or: [...]}" }];
  const group = "and" in value ? "and" : "or" in value ? "or" : undefined;
  if (group === undefined) return checkComparison(value, path);
  const extra = Object.keys(value).find((key) => key !== group);
  if (extra) return [{ path: [...path, extra], message: "unknown field" }];
  const branches = value[group];
  const at = [...path, group];
  if (!Array.isArray(branches) || branches.length < 1 || branches.length > MAX_BRANCHES) {
    return [{ path: at, message: `must be a list of 1 to ${MAX_BRANCHES} conditions` }];
  }
  if (depth >= MAX_DEPTH) return [{ path: at, message: `nesting deeper than ${MAX_DEPTH}` }];
  return branches.flatMap((branch, index) => checkCondition(branch, [...at, index], depth + 1));
}

/** The zod schema of a condition; also rejects conditions EventBridge could not hold or never match. */
export const condition: z.ZodType<Condition> = z.unknown().transform((value, ctx) => {
  const issues = checkCondition(value, [], 0);
  for (const issue of issues) ctx.addIssue({ code: "custom", ...issue });
  if (issues.length > 0) return z.NEVER;
  const parsed = value as Condition;
  try {
    compileCondition(parsed);
  } catch (error) {
    if (!(error instanceof ConditionError)) throw error;
    ctx.addIssue({ code: "custom", message: error.message });
    return z.NEVER;
  }
  return parsed;
});

// ---------------------------------------------------------------------------------------------
// Compilation
// ---------------------------------------------------------------------------------------------

/** A condition that is well-formed but cannot become an EventBridge rule. */
export class ConditionError extends Error {
  override name = "ConditionError";
}

type Leaf = unknown[];
/** What one variable may be in one conjunction: alternatives, each a leaf or "no constraint". */
type Options = (Leaf | undefined)[];

/** Disjunctive normal form: an OR of ANDs of comparisons. */
function toDnf(condition: Condition): Comparison[][] {
  if ("or" in condition) return condition.or.flatMap(toDnf);
  if ("and" in condition) {
    let terms: Comparison[][] = [[]];
    for (const part of condition.and) {
      const next = toDnf(part);
      if (terms.length * next.length > MAX_TERMS * MAX_TERMS) throw tooComplex();
      terms = terms.flatMap((term) => next.map((more) => [...term, ...more]));
    }
    return terms;
  }
  return [[condition]];
}

const tooComplex = () =>
  new ConditionError(
    `too complex for an EventBridge rule (at most ${MAX_TERMS} alternatives once and is distributed over or, and ${MAX_PATTERN_LENGTH} characters)`,
  );

/** Success and Mode take few values: intersect the allowed ones. */
function finiteOptions(domain: readonly unknown[], atoms: Comparison[]): Options {
  const allowed = domain.filter((candidate) =>
    atoms.every((atom) => (atom.op === "==") === (candidate === atom.value)),
  );
  if (allowed.length === 0) return [];
  return allowed.length === domain.length ? [undefined] : [allowed];
}

function stringOptions(atoms: Comparison[], optional: boolean): Options {
  const equal = new Set(atoms.filter((a) => a.op === "==").map((a) => a.value));
  const excluded = [...new Set(atoms.filter((a) => a.op === "!=").map((a) => a.value))];
  if (equal.size > 1) return [];
  const [value] = [...equal];
  if (value !== undefined) return excluded.includes(value) ? [] : [[value]];
  if (excluded.length === 0) return [undefined];
  const anythingBut = [{ "anything-but": excluded.length === 1 ? excluded[0] : excluded }];
  // anything-but needs a value; "not equal" also holds when the optional field is absent.
  return optional ? [anythingBut, [{ exists: false }]] : [anythingBut];
}

function numberOptions(atoms: Comparison[]): Options {
  const values = (op: Operator) => atoms.filter((a) => a.op === op).map((a) => a.value as number);
  const equal = [...new Set(values("=="))];
  const excluded = [...new Set(values("!="))].sort((a, b) => a - b);
  const lower = Math.max(-Infinity, ...values(">"));
  const upper = Math.min(Infinity, ...values("<"));
  if (equal.length > 1) return [];
  const [value] = equal;
  if (value !== undefined) {
    const holds = value > lower && value < upper && !excluded.includes(value);
    return holds ? [[{ numeric: ["=", value] }]] : [];
  }
  if (lower >= upper) return [];
  if (lower === -Infinity && upper === Infinity) {
    if (excluded.length === 0) return [undefined];
    return [[{ "anything-but": excluded.length === 1 ? excluded[0] : excluded }]];
  }
  // A bounded range minus points: the open intervals between them, as alternatives.
  const cuts = [lower, ...excluded.filter((x) => x > lower && x < upper), upper];
  const leaf: Leaf = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const from = cuts[i] as number;
    const to = cuts[i + 1] as number;
    const numeric =
      from === -Infinity ? ["<", to] : to === Infinity ? [">", from] : [">", from, "<", to];
    leaf.push({ numeric });
  }
  return [leaf];
}

function variableOptions(variable: EventVariable, atoms: Comparison[]): Options {
  switch (variable) {
    case "Success":
    case "Changed":
      return finiteOptions([true, false], atoms);
    case "Mode":
      return finiteOptions(syncModes, atoms);
    case "Items":
      return numberOptions(atoms);
    case "Reason":
      return stringOptions(atoms, true);
    default:
      return stringOptions(atoms, false);
  }
}

/** One conjunction as the `detail` patterns that match exactly its events (none: unsatisfiable). */
function termPatterns(term: Comparison[]): EventPattern[] {
  let patterns: EventPattern[] = [{}];
  for (const variable of eventVariables) {
    const atoms = term.filter((atom) => atom.variable === variable);
    if (atoms.length === 0) continue;
    const options = variableOptions(variable, atoms);
    patterns = patterns.flatMap((pattern) =>
      options.map((leaf) => (leaf === undefined ? pattern : { ...pattern, [variable]: leaf })),
    );
  }
  return patterns;
}

/**
 * The EventBridge event pattern of a trigger: its event type, and its condition as `detail`
 * filters (`!=` → anything-but, `<`/`>` → numeric, `or` → `$or`, `and` distributed over `or`).
 * Throws ConditionError when the condition can never hold or is too large for a rule.
 */
export function compileCondition(condition: Condition | undefined): EventPattern {
  const base: EventPattern = { source: [EVENT_SOURCE], "detail-type": [SYNC_EVENT] };
  if (condition === undefined) return base;
  const terms = toDnf(condition);
  if (terms.length > MAX_TERMS) throw tooComplex();
  const unique = new Map<string, EventPattern>();
  for (const pattern of terms.flatMap(termPatterns)) {
    unique.set(JSON.stringify(pattern), pattern);
  }
  const details = [...unique.values()];
  if (details.length === 0) throw new ConditionError("can never be true");
  // One alternative without constraints means every event matches.
  if (details.some((detail) => Object.keys(detail).length === 0)) return base;
  if (details.length > MAX_TERMS) throw tooComplex();
  const [only] = details;
  const pattern = { ...base, detail: details.length === 1 && only ? only : { $or: details } };
  if (JSON.stringify(pattern).length > MAX_PATTERN_LENGTH) throw tooComplex();
  return pattern;
}
