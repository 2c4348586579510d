/** Triggers (R17) as `triggers list` and `triggers get` show them without --json. */

/** A trigger as `/api/triggers` answers it (secret headers shown as `{"secret": true}`). */
export interface TriggerView {
  id: string;
  event: string;
  description: string;
  enabled: boolean;
  condition?: ConditionView;
  actions: ActionView[];
  version?: number;
  /** Wall-clock ms of the last change, on the server it was made on. */
  updatedAt?: number;
}

type ConditionView =
  | { variable: string; op: string; value: unknown }
  | { and: ConditionView[] }
  | { or: ConditionView[] };

type ActionView =
  | { type: "email"; to: string[]; subject: string; body?: string }
  | {
      type: "http";
      url: string;
      method: string;
      headers: Record<string, string | { secret: true }>;
      body?: string;
      timeoutMs: number;
      retries: number;
    };

/** `Success == false and (Mode == "takeover" or Items > 10)`; none: "every event". */
export function conditionText(condition: ConditionView | undefined, nested = false): string {
  if (condition === undefined) return "every event";
  if ("variable" in condition) {
    return `${condition.variable} ${condition.op} ${JSON.stringify(condition.value)}`;
  }
  const [joiner, parts] = "and" in condition ? ["and", condition.and] : ["or", condition.or];
  const text = parts.map((part) => conditionText(part, true)).join(` ${joiner} `);
  return nested && parts.length > 1 ? `(${text})` : text;
}

/** One action in a few words: `email ops@example.com`, `POST hooks.example.com`. */
const actionText = (action: ActionView) =>
  action.type === "email"
    ? `email ${action.to.join(", ")}`
    : `${action.method} ${new URL(action.url).host}`;

/** Columns padded to their widest cell, two spaces apart; the last one is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, column) => (column < row.length - 1 ? cell.padEnd(widths[column] ?? 0) : cell))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** `triggers list`: one row a trigger. */
export function triggersTable(items: TriggerView[]): string {
  if (items.length === 0) return "no triggers";
  return table(
    ["ID", "ENABLED", "CONDITION", "ACTIONS", "DESCRIPTION"],
    items.map((trigger) => [
      trigger.id,
      trigger.enabled ? "yes" : "no",
      conditionText(trigger.condition),
      trigger.actions.map(actionText).join("; "),
      trigger.description,
    ]),
  );
}

/** `triggers get`: every field, one a line, each action with its parts below it. */
export function triggerDetail(trigger: TriggerView): string {
  const lines: [string, string][] = [
    ["id", trigger.id],
    ["description", trigger.description || "–"],
    ["event", trigger.event],
    ["enabled", trigger.enabled ? "yes" : "no"],
    ["condition", conditionText(trigger.condition)],
  ];
  trigger.actions.forEach((action, index) => {
    const label = `action ${index + 1}`;
    if (action.type === "email") {
      lines.push([label, `email to ${action.to.join(", ")}`]);
      lines.push(["  subject", action.subject]);
      if (action.body) lines.push(["  body", action.body]);
      return;
    }
    const retries = `${action.retries} ${action.retries === 1 ? "retry" : "retries"}`;
    lines.push([
      label,
      `${action.method} ${action.url} (timeout ${action.timeoutMs} ms, ${retries})`,
    ]);
    for (const [name, value] of Object.entries(action.headers)) {
      lines.push(["  header", `${name}: ${typeof value === "string" ? value : "(secret)"}`]);
    }
    const defaultBody = action.method === "GET" ? "(none)" : "(all the variables as JSON)";
    lines.push(["  body", action.body ?? defaultBody]);
  });
  if (trigger.version !== undefined) lines.push(["version", String(trigger.version)]);
  if (trigger.updatedAt !== undefined) {
    lines.push(["updated", new Date(trigger.updatedAt).toISOString()]);
  }
  const width = Math.max(...lines.map(([label]) => label.length)) + 2;
  // A multi-line value (an email body) continues under its first line.
  return lines
    .map(([label, value]) => label.padEnd(width) + value.replaceAll("\n", `\n${" ".repeat(width)}`))
    .join("\n");
}
