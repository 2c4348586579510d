type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

/**
 * An element with attributes and children. Text always goes in as text nodes (never HTML), so a
 * value from the API shows as what it is: `<script>` is shown, not run.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A value as the console shows it: `—` for none, ISO times as local times. */
export function show(value: unknown): string {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value)) {
    const time = new Date(value);
    if (!Number.isNaN(time.getTime())) return time.toLocaleString();
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** A table with a header row; every cell goes in as text unless it is an element. */
export const grid = (headers: string[], rows: unknown[][], id?: string) =>
  h(
    "table",
    { class: "grid", ...(id ? { id } : {}) },
    h("thead", {}, h("tr", {}, ...headers.map((header) => h("th", {}, header)))),
    h(
      "tbody",
      {},
      ...(rows.length
        ? rows.map((row) =>
            h(
              "tr",
              {},
              ...row.map((cell) => h("td", {}, cell instanceof Node ? cell : show(cell))),
            ),
          )
        : [h("tr", {}, h("td", { colspan: headers.length }, "none"))]),
    ),
  );

export const errorText = (error: unknown) =>
  error instanceof Error ? error.message : String(error);
