/**
 * Templates of trigger actions (subject, body, url, headers): `{{Success}}`, `{{ Reason }}`.
 * A missing or unknown variable renders as the empty string. `{{Reason | json}}` renders a JSON
 * literal (`"text"`, `false`, `3`, `null` when missing), for JSON bodies; `{{X | url}}` URL-encodes.
 * A JSON body escapes every value as JSON by default (renderJsonTemplate).
 *
 * Only the whitelisted variables below are ever visible to a template: they come from the
 * event (R16), which carries no secret (R4), and nothing else of the process is reachable.
 */

export type TemplateValue = string | number | boolean | undefined;
export type TemplateVariables = Readonly<Record<string, TemplateValue>>;

/** The event's detail fields a template can use (R16). */
const detailVariables = [
  "Success",
  "Mode",
  "Primary",
  "Failover",
  "StartedAt",
  "FinishedAt",
  "Items",
  "Reason",
  "Message",
  "SyncId",
  "PreviousSuccess",
  "Changed",
] as const;

/** Every variable a template can name: the detail fields, and the event's and trigger's ids. */
export const templateVariableNames = [...detailVariables, "EventId", "Time", "Trigger"] as const;

/** An event as a rule's target receives it (EventBridge's envelope around the sync event's detail). */
export interface DeliveredEvent {
  readonly id: string;
  readonly time: string;
  readonly source: string;
  readonly "detail-type": string;
  readonly detail: unknown;
}

const scalar = (value: unknown): TemplateValue =>
  typeof value === "string" || typeof value === "number" || typeof value === "boolean"
    ? value
    : undefined;

/** The variables of one event for one trigger: whitelisted scalars only. */
export function templateVariables(event: DeliveredEvent, triggerId: string): TemplateVariables {
  const detail =
    typeof event.detail === "object" && event.detail !== null
      ? (event.detail as Record<string, unknown>)
      : {};
  const variables: Record<string, TemplateValue> = {
    EventId: event.id,
    Time: event.time,
    Trigger: triggerId,
  };
  for (const name of detailVariables) variables[name] = scalar(detail[name]);
  return variables;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*(?:\|\s*(json|url)\s*)?\}\}/g;

/**
 * Replaces each `{{Name}}` with the variable's text. `encode` is applied to each substituted
 * value (not to the template's own text), for the place the result goes (see the helpers).
 */
export function renderTemplate(
  template: string,
  variables: TemplateVariables,
  encode: (value: string) => string = (value) => value,
): string {
  return template.replace(PLACEHOLDER, (_, name: string, filter: string | undefined) => {
    const value = Object.hasOwn(variables, name) ? variables[name] : undefined;
    if (filter === "json") return encode(JSON.stringify(value ?? null));
    const text = value === undefined ? "" : String(value);
    // URL-encoded text is safe everywhere: it is not escaped twice.
    return filter === "url" ? encodeURIComponent(text) : encode(text);
  });
}

/** In a URL, substituted values are URL-encoded so they cannot change its host or path. */
export const renderUrl = (template: string, variables: TemplateVariables) =>
  renderTemplate(template, variables, encodeURIComponent);

/** In a header or a subject, line breaks become spaces: no header injection. */
export const renderLine = (template: string, variables: TemplateVariables) =>
  renderTemplate(template, variables, (value) => value.replace(/[\r\n]+/g, " ")).replace(
    /[\r\n]+/g,
    " ",
  );

/** Whether a body template is JSON-shaped: it starts with `{` or `[` (after white space). */
export const isJsonTemplate = (template: string) => /^\s*[[{]/.test(template);

/** A JSON string's contents (no quotes): quotes, backslashes and control characters escaped. */
const jsonStringContent = (text: string) => JSON.stringify(text).slice(1, -1);

/**
 * Renders a JSON body template so that no value can break out of its place: `{{X}}` inside a
 * JSON string is JSON-string-escaped (`"reason": "{{Reason}}"` stays one string whatever the
 * reason holds); `{{X}}` outside a string renders a JSON literal, as `{{X | json}}` does
 * (`"items": {{Items}}` → `3`, a missing value → `null`); `{{X | json}}` is a JSON literal
 * anywhere; `{{X | url}}` is URL-encoded (no quote or backslash can remain). Whether a
 * placeholder sits inside a string is read from the template's own text.
 */
export function renderJsonTemplate(template: string, variables: TemplateVariables): string {
  let out = "";
  let inString = false;
  let escaped = false;
  let last = 0;
  const scan = (text: string) => {
    for (const char of text) {
      if (escaped) escaped = false;
      else if (inString && char === "\\") escaped = true;
      else if (char === '"') inString = !inString;
    }
  };
  for (const match of template.matchAll(PLACEHOLDER)) {
    const text = template.slice(last, match.index);
    scan(text);
    out += text;
    if (escaped) {
      // The template's text ends in a lone backslash: make it a literal one, so it cannot
      // escape the value's first character (a quote would end the string).
      out += "\\";
      escaped = false;
    }
    const [placeholder, name = "", filter] = match;
    const value = Object.hasOwn(variables, name) ? variables[name] : undefined;
    if (filter === "url") out += encodeURIComponent(value === undefined ? "" : String(value));
    else if (filter === "json" || !inString) out += JSON.stringify(value ?? null);
    else out += jsonStringContent(value === undefined ? "" : String(value));
    last = match.index + placeholder.length;
  }
  return out + template.slice(last);
}
