import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { REPO_ROOT } from "../../infra/cloud/constructs/mft-function.ts";

/**
 * What the handlers' source really does, read from its syntax tree (not its text), so that a
 * name in a comment, a type or a string elsewhere never counts as a call.
 */

/** Every `.ts` file under `dir` (relative to the repository root), declarations excluded. */
function sourceFiles(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))
    .map((file) => join(REPO_ROOT, dir, file));
}

function calls(file: string, visit: (call: ts.CallExpression) => void, text?: string): void {
  const source = ts.createSourceFile(
    file,
    text ?? readFileSync(file, "utf8"),
    ts.ScriptTarget.Latest,
  );
  const walk = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) visit(node);
    ts.forEachChild(node, walk);
  };
  walk(source);
}

function propertyName(name: ts.PropertyName): string | undefined {
  return ts.isIdentifier(name) || ts.isStringLiteralLike(name) ? name.text : undefined;
}

/**
 * The metric names one source file publishes: the keys of an object literal passed to
 * `….publish({ Name: … })` (the MetricSink port) and the string literal passed to
 * `….addMetric("Name", …)` (Powertools Metrics). `text` stands in for the file's content.
 */
export function metricsPublishedIn(file: string, text?: string): string[] {
  const names: string[] = [];
  calls(
    file,
    (call) => {
      if (!ts.isPropertyAccessExpression(call.expression)) return;
      const method = call.expression.name.text;
      const [first] = call.arguments;
      if (method === "publish" && first && ts.isObjectLiteralExpression(first)) {
        for (const property of first.properties) {
          if (ts.isPropertyAssignment(property) || ts.isShorthandPropertyAssignment(property)) {
            const name = propertyName(property.name);
            if (name) names.push(name);
          }
        }
      }
      if (method === "addMetric" && first && ts.isStringLiteralLike(first)) names.push(first.text);
    },
    text,
  );
  return names;
}

/** Metric names published by the `.ts` files under `dirs`, each with the files that publish it. */
export function publishedMetrics(dirs: readonly string[]): Map<string, string[]> {
  const published = new Map<string, string[]>();
  for (const file of dirs.flatMap(sourceFiles)) {
    for (const name of new Set(metricsPublishedIn(file))) {
      published.set(name, [...(published.get(name) ?? []), relative(REPO_ROOT, file)]);
    }
  }
  return published;
}

export interface SecretUse {
  /** The name under the SecretStore prefix (`${prefix}${name}` in Secrets Manager). */
  readonly name: string;
  readonly method: "get" | "put" | "refresh";
  /** Relative to the repository root. */
  readonly file: string;
}

/**
 * The SecretStore calls of the `.ts` files under `dirs`: each `….secrets.get|put|refresh(NAME, …)`
 * whose NAME is a string literal or a `const` of the same file initialised with one. A name the
 * scan cannot resolve is reported as `?` (so a test sees it rather than missing it).
 */
export function secretStoreUses(dirs: readonly string[]): SecretUse[] {
  const uses: SecretUse[] = [];
  for (const file of dirs.flatMap(sourceFiles)) {
    const text = readFileSync(file, "utf8");
    // Parents set: a declaration is a constant when its list is `const`.
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const constants = new Map<string, string>();
    const collect = (node: ts.Node): void => {
      if (
        ts.isVariableDeclaration(node) &&
        ts.isIdentifier(node.name) &&
        node.initializer &&
        ts.isStringLiteralLike(node.initializer) &&
        ts.isVariableDeclarationList(node.parent) &&
        (node.parent.flags & ts.NodeFlags.Const) !== 0
      ) {
        constants.set(node.name.text, node.initializer.text);
      }
      ts.forEachChild(node, collect);
    };
    collect(source);
    calls(
      file,
      (call) => {
        const callee = call.expression;
        if (!ts.isPropertyAccessExpression(callee)) return;
        const method = callee.name.text;
        if (method !== "get" && method !== "put" && method !== "refresh") return;
        const target = callee.expression;
        if (!ts.isPropertyAccessExpression(target) || target.name.text !== "secrets") return;
        const [first] = call.arguments;
        const name =
          first && ts.isStringLiteralLike(first)
            ? first.text
            : first && ts.isIdentifier(first)
              ? (constants.get(first.text) ?? "?")
              : "?";
        uses.push({ name, method, file: relative(REPO_ROOT, file) });
      },
      text,
    );
  }
  return uses;
}
