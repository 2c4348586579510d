/**
 * Amazon EventBridge event-pattern matching, after the EventBridge user guide ("Creating Amazon
 * EventBridge event patterns", "Comparison operators for use in event patterns", "Matching events
 * on null values and empty strings", "Arrays in event patterns") and the aws/event-ruler library
 * that implements them.
 *
 * A pattern is an object whose keys must all match (AND). A key holds either a nested pattern, a
 * `$or` list of patterns, or a leaf: an array of alternatives (OR), each a JSON literal or a
 * one-key operator object.
 */
import { BlockList, isIP } from "node:net";

export type EventPattern = Record<string, unknown>;

type JsonObject = Record<string, unknown>;
type StringOperator = "prefix" | "suffix" | "equals-ignore-case" | "wildcard";

const isObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const isNumber = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value);

const isStringOperator = (op: string): op is StringOperator =>
  op === "prefix" || op === "suffix" || op === "equals-ignore-case" || op === "wildcard";

/** The only `[key, value]` of an operator object such as `{"prefix": "x"}`. */
function soleEntry(object: JsonObject): [string, unknown] | undefined {
  const entries = Object.entries(object);
  return entries.length === 1 ? entries[0] : undefined;
}

/** Event arrays are transparent: `[a, [b]]` offers the values a and b, a missing key none. */
function flatten(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value.flatMap(flatten) : [value];
}

// ---------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------

export function matchesPattern(pattern: EventPattern, event: unknown): boolean {
  return Object.entries(pattern).every(([key, rule]) => {
    if (key === "$or" && Array.isArray(rule)) {
      return rule.some((branch) => isObject(branch) && matchesPattern(branch, event));
    }
    const value = isObject(event) ? event[key] : undefined;
    if (Array.isArray(rule)) {
      // Objects are intermediate nodes, not values: a leaf only ever sees scalars.
      const scalars = flatten(value).filter((item) => !isObject(item));
      return matchesLeaf(rule, scalars);
    }
    if (!isObject(rule)) return false;
    // Any one element of an array of objects must satisfy the whole sub-pattern, so fields are
    // never matched across different elements. With no object there, the sub-pattern is matched
    // against nothing, which only `{"exists": false}` leaves can satisfy.
    const objects = flatten(value).filter(isObject);
    return (objects.length > 0 ? objects : [{}]).some((object) => matchesPattern(rule, object));
  });
}

function matchesLeaf(alternatives: unknown[], values: unknown[]): boolean {
  return alternatives.some((alternative) => {
    // `exists` asks about the field, not a value: the only test a missing field can pass.
    if (isObject(alternative) && "exists" in alternative) {
      const exists = values.length > 0;
      return exists === alternative.exists;
    }
    return values.some((value) => matchesValue(alternative, value));
  });
}

function matchesValue(rule: unknown, value: unknown): boolean {
  // JSON literals compare by type and value; numbers were parsed already, so 3.0e2 === 300.
  if (!isObject(rule)) return rule === value;
  const [op, arg] = soleEntry(rule) ?? [];
  switch (op) {
    case "prefix":
    case "suffix":
    case "equals-ignore-case":
    case "wildcard":
      return matchesString(op, arg, value);
    case "anything-but":
      return matchesAnythingBut(arg, value);
    case "numeric":
      return typeof value === "number" && matchesNumeric(arg, value);
    case "cidr":
      return typeof value === "string" && matchesCidr(arg, value);
    default:
      return false;
  }
}

const stringTests: Record<StringOperator, (needle: string, value: string) => boolean> = {
  prefix: (needle, value) => value.startsWith(needle),
  suffix: (needle, value) => value.endsWith(needle),
  "equals-ignore-case": (needle, value) => value.toLowerCase() === needle.toLowerCase(),
  wildcard: (needle, value) => wildcardRegExp(needle).test(value),
};

/** String operators never match numbers, booleans or null. `arg` may be a list (anything-but). */
function matchesString(op: StringOperator, arg: unknown, value: unknown): boolean {
  if (typeof value !== "string") return false;
  if (isObject(arg)) {
    // {"prefix": {"equals-ignore-case": "x"}}: fold case on both sides, then compare.
    const needle = arg["equals-ignore-case"];
    return typeof needle === "string" && stringTests[op](needle.toLowerCase(), value.toLowerCase());
  }
  return flatten(arg).some(
    (needle) => typeof needle === "string" && stringTests[op](needle, value),
  );
}

/**
 * Matches any present value that is not excluded, null and non-strings included: a number never
 * has a string prefix. A missing field has no value, so it does not match (use `exists`).
 */
function matchesAnythingBut(arg: unknown, value: unknown): boolean {
  if (!isObject(arg)) return !flatten(arg).some((excluded) => excluded === value);
  const [op, inner] = soleEntry(arg) ?? [];
  return op !== undefined && isStringOperator(op) && !matchesString(op, inner, value);
}

const comparisons = new Map<unknown, (value: number, bound: number) => boolean>([
  ["=", (value, bound) => value === bound],
  [">", (value, bound) => value > bound],
  [">=", (value, bound) => value >= bound],
  ["<", (value, bound) => value < bound],
  ["<=", (value, bound) => value <= bound],
]);

/** `[op, bound]` or `[op, bound, op, bound]`: every comparison must hold. */
function matchesNumeric(terms: unknown, value: number): boolean {
  if (!Array.isArray(terms) || terms.length % 2 !== 0) return false;
  for (let i = 0; i < terms.length; i += 2) {
    const compare = comparisons.get(terms[i]);
    const bound = terms[i + 1];
    if (!compare || !isNumber(bound) || !compare(value, bound)) return false;
  }
  return true;
}

type IpFamily = "ipv4" | "ipv6";
type Cidr = { blocks: BlockList; family: IpFamily };

function ipFamily(address: string): IpFamily | undefined {
  const version = isIP(address);
  return version === 4 ? "ipv4" : version === 6 ? "ipv6" : undefined;
}

function parseCidr(cidr: unknown): Cidr | undefined {
  if (typeof cidr !== "string") return undefined;
  const [address = "", bits = "", ...rest] = cidr.split("/");
  const family = ipFamily(address);
  const prefix = Number(bits);
  if (!family || rest.length > 0 || !/^\d{1,3}$/.test(bits)) return undefined;
  if (prefix > (family === "ipv4" ? 32 : 128)) return undefined;
  const blocks = new BlockList();
  try {
    blocks.addSubnet(address, prefix, family);
  } catch {
    return undefined; // e.g. an IPv6 zone id node accepts in isIP but not in a subnet
  }
  return { blocks, family };
}

function matchesCidr(cidr: unknown, value: string): boolean {
  const range = parseCidr(cidr);
  const family = ipFamily(value);
  // Same family only: BlockList would otherwise let ::ffff:10.0.0.1 into 10.0.0.0/24.
  return range !== undefined && family === range.family && range.blocks.check(value, family);
}

/** `*` matches any run of characters (none included); `\*` and `\\` are a literal `*` and `\`. */
function wildcardRegExp(wildcard: string): RegExp {
  const source = wildcard.replace(/\\([*\\])|(\*)|[.+?^${}()|[\]\\]/g, (char, escaped, star) =>
    star ? ".*" : `\\${escaped ?? char}`,
  );
  return new RegExp(`^${source}$`, "s");
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/** The first problem found, prefixed with the path of the offending key, or undefined if valid. */
export function validatePattern(pattern: unknown): string | undefined {
  return isObject(pattern) ? validateObject(pattern, "") : "pattern: must be a JSON object";
}

function validateObject(pattern: JsonObject, path: string): string | undefined {
  const entries = Object.entries(pattern);
  if (entries.length === 0) return `${path || "pattern"}: empty objects are not allowed`;
  for (const [key, rule] of entries) {
    const at = path ? `${path}.${key}` : key;
    const error =
      key === "$or"
        ? validateOr(rule, at)
        : Array.isArray(rule)
          ? validateLeaf(rule, at)
          : isObject(rule)
            ? validateObject(rule, at)
            : `${at}: must be an object or an array of values, got ${JSON.stringify(rule)}`;
    if (error) return error;
  }
  return undefined;
}

function validateOr(branches: unknown, at: string): string | undefined {
  if (!Array.isArray(branches) || branches.length < 2) {
    return `${at}: must be an array of at least two patterns`;
  }
  for (const [i, branch] of branches.entries()) {
    const error = isObject(branch)
      ? validateObject(branch, `${at}[${i}]`)
      : `${at}[${i}]: must be a pattern object`;
    if (error) return error;
  }
  return undefined;
}

function validateLeaf(alternatives: unknown[], at: string): string | undefined {
  if (alternatives.length === 0) return `${at}: empty arrays are not allowed`;
  for (const [i, alternative] of alternatives.entries()) {
    const error = isObject(alternative)
      ? validateOperator(alternative)
      : isLiteral(alternative)
        ? undefined
        : "must be a string, number, boolean, null or operator object";
    if (error) return `${at}[${i}]: ${error}`;
  }
  return undefined;
}

function validateOperator(expression: JsonObject): string | undefined {
  const entry = soleEntry(expression);
  if (!entry) return "an operator object must have exactly one key";
  const [op, arg] = entry;
  const error = operatorError(op, arg);
  return error && `${op}: ${error}`;
}

function operatorError(op: string, arg: unknown): string | undefined {
  switch (op) {
    case "prefix":
    case "suffix":
      return typeof arg === "string" || isIgnoreCase(arg)
        ? undefined
        : 'must be a string or {"equals-ignore-case": string}';
    case "equals-ignore-case":
      return typeof arg === "string" ? undefined : "must be a string";
    case "wildcard":
      return typeof arg === "string" ? wildcardError(arg) : "must be a string";
    case "anything-but":
      return anythingButError(arg);
    case "numeric":
      return numericError(arg);
    case "exists":
      return typeof arg === "boolean" ? undefined : "must be true or false";
    case "cidr":
      return parseCidr(arg) ? undefined : `invalid CIDR block ${JSON.stringify(arg)}`;
    default:
      return "unknown operator";
  }
}

const isLiteral = (value: unknown): boolean =>
  value === null || typeof value === "string" || typeof value === "boolean" || isNumber(value);

function isIgnoreCase(arg: unknown): boolean {
  const [op, needle] = (isObject(arg) && soleEntry(arg)) || [];
  return op === "equals-ignore-case" && typeof needle === "string";
}

function wildcardError(wildcard: string): string | undefined {
  for (let i = 0; i < wildcard.length; i++) {
    const char = wildcard[i];
    const next = wildcard[i + 1];
    if (char === "\\") {
      if (next !== "*" && next !== "\\") return "a backslash may only escape * or \\";
      i++;
    } else if (char === "*" && next === "*") {
      return "consecutive wildcard characters are not allowed";
    }
  }
  return undefined;
}

function anythingButError(arg: unknown): string | undefined {
  if (typeof arg === "string" || isNumber(arg)) return undefined;
  if (Array.isArray(arg)) {
    const allStrings = arg.every((item) => typeof item === "string");
    return arg.length > 0 && (allStrings || arg.every(isNumber))
      ? undefined
      : "a list must hold only strings or only numbers";
  }
  const [op, inner] = (isObject(arg) && soleEntry(arg)) || [];
  if (op === undefined || !isStringOperator(op)) {
    return "must be a string, a number, a list, or one of prefix, suffix, equals-ignore-case, wildcard";
  }
  const needles = Array.isArray(inner) ? inner : [inner];
  if (needles.length === 0 || !needles.every((needle) => typeof needle === "string")) {
    return `${op}: must be a string or a list of strings`;
  }
  if ((op === "prefix" || op === "suffix") && needles.includes("")) {
    return `${op}: must not be empty`;
  }
  const wildcard = op === "wildcard" ? needles.map(wildcardError).find(Boolean) : undefined;
  return wildcard && `${op}: ${wildcard}`;
}

/** One comparison, or a range: a lower bound (> or >=) then a greater upper bound (< or <=). */
function numericError(terms: unknown): string | undefined {
  const shape = 'must be [op, number] or a range such as [">", 0, "<=", 5]';
  if (!Array.isArray(terms) || (terms.length !== 2 && terms.length !== 4)) return shape;
  const [op, bound, upperOp, upper] = terms;
  if (!comparisons.has(op)) return `unknown numeric operator ${JSON.stringify(op)}`;
  if (!isNumber(bound)) return `the value of ${op} must be a number`;
  if (terms.length === 2) return undefined;
  if (op !== ">" && op !== ">=") return "a range must start with > or >=";
  if (upperOp !== "<" && upperOp !== "<=") return "a range must end with < or <=";
  if (!isNumber(upper)) return `the value of ${upperOp} must be a number`;
  return bound < upper ? undefined : "the lower bound must be less than the upper bound";
}
