import { api } from "./api.ts";
import { errorText, fill, grid, h, show } from "./dom.ts";

/** R26: a change as `GET /api/history` lists it. */
interface Change {
  at: string;
  id: string;
  op: "put" | "delete";
  origin: string;
  fields: string[];
}

interface Plan {
  at: string;
  added: string[];
  removed: string[];
  changed: { id: string; fields: string[] }[];
  applied?: number;
  skipped?: string[];
  remaining?: number;
}

/** How many of a domain's changes its section shows. */
const RECENT = 20;

/** A domain's recent changes, newest first: time, item, operation, fields, origin. */
export async function recentChanges(domain: string): Promise<HTMLElement> {
  const { items } = await api<{ items: Change[] }>(
    "GET",
    `/api/history?domain=${encodeURIComponent(domain)}&limit=${RECENT}`,
  );
  const table = grid(
    ["Time", "Item", "Change", "Fields", "Origin"],
    items.map((change) => [
      change.at,
      change.id,
      change.op,
      change.fields.join(", ") || "—",
      change.origin,
    ]),
  );
  table.classList.add("changes");
  return h("div", {}, h("h4", {}, `Recent changes (the last ${RECENT} at most)`), table);
}

/** `datetime-local`'s value for a time: local, to the second. */
const localInput = (ms: number) => {
  const local = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 19);
};

/**
 * "What changed since…": a domain (also one deleted since: its name is typed) as it was at a
 * moment, compared with now by a dry run; the rewind itself only after a second, explicit
 * confirmation naming the domain and the moment.
 */
export function rewindPanel(rewound: () => Promise<void>) {
  const domain = h("input", {
    id: "rewind-domain",
    list: "rewind-domains",
    required: true,
    autocomplete: "off",
  });
  const moment = h("input", {
    id: "rewind-at",
    type: "datetime-local",
    step: 1,
    required: true,
    value: localInput(Date.now() - 3_600_000),
  });
  const names = h("datalist", { id: "rewind-domains" });
  const result = h("div", { id: "rewind-result" });
  const message = h("p", { id: "rewind-message", role: "status" });
  const form = h(
    "form",
    { id: "rewind-form" },
    names,
    h("label", { for: "rewind-domain" }, "Domain "),
    domain,
    " ",
    h("label", { for: "rewind-at" }, "as it was at "),
    moment,
    " ",
    h("button", { type: "submit", id: "rewind-preview" }, "What changed since then?"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = domain.value.trim();
    const at = new Date(moment.value).toISOString();
    const path = `/api/domains/${encodeURIComponent(name)}/rewind`;
    fill(result);
    message.textContent = "Comparing…";
    try {
      const plan = await api<Plan>("POST", path, { at, dryRun: true });
      const count = plan.added.length + plan.removed.length + plan.changed.length;
      if (count === 0) {
        message.textContent = `${name} is as it was at ${show(at)}: nothing to rewind.`;
        return;
      }
      message.textContent = `Since ${show(at)}, ${count} item(s) of ${name} changed. A rewind would:`;
      const start = h("button", { type: "button", id: "rewind-start" }, `Rewind ${name}…`);
      const confirm = h("p", { id: "rewind-confirm-step", class: "confirm", hidden: true });
      start.addEventListener("click", () => {
        start.disabled = true;
        const yes = h(
          "button",
          { type: "button", id: "rewind-confirm", class: "danger" },
          `Yes, rewind ${name} to ${show(at)}`,
        );
        const cancel = h("button", { type: "button", id: "rewind-cancel" }, "Cancel");
        yes.addEventListener("click", async () => {
          yes.disabled = true;
          try {
            const done = await api<Plan>("POST", path, { at, dryRun: false });
            // Too big for one answer: the same rewind goes on with what is left.
            for (let last = done; (last.remaining ?? 0) > 0; ) {
              message.textContent = `${last.remaining} item(s) left: going on…`;
              last = await api<Plan>("POST", path, { at, dryRun: false });
              done.applied = (done.applied ?? 0) + (last.applied ?? 0);
              done.skipped = [...(done.skipped ?? []), ...(last.skipped ?? [])];
            }
            const kept = done.skipped?.length
              ? ` ${done.skipped.length} changed again meanwhile and were kept: ${done.skipped.join(", ")}.`
              : "";
            fill(result);
            message.textContent = `Rewound ${name} to ${show(at)}: ${done.applied ?? 0} item(s) written; automatic sync carries them to the failover.${kept}`;
            await rewound();
          } catch (error) {
            message.textContent = errorText(error);
          }
        });
        cancel.addEventListener("click", () => {
          confirm.hidden = true;
          start.disabled = false;
        });
        fill(
          confirm,
          `This writes ${count} item(s) of ${name} on this server as new versions (a rewind can itself be rewound). `,
          yes,
          " ",
          cancel,
        );
        confirm.hidden = false;
      });
      fill(
        result,
        grid(
          ["", "Item", "Fields"],
          [
            ...plan.added.map((id) => ["add", id, ""]),
            ...plan.removed.map((id) => ["remove", id, ""]),
            ...plan.changed.map(({ id, fields }) => ["change", id, fields.join(", ")]),
          ],
          "rewind-plan",
        ),
        start,
        confirm,
      );
    } catch (error) {
      message.textContent = errorText(error);
    }
  });
  const element = h(
    "section",
    { class: "rewind" },
    h("h3", {}, "Rewind"),
    h(
      "p",
      { class: "hint" },
      "See what changed in a domain since a moment — one deleted by mistake too — and put it back as it was.",
    ),
    form,
    message,
    result,
  );
  /** The domains offered as one types (the current ones; a deleted one is typed in full). */
  const offer = (domains: string[]) =>
    fill(names, ...domains.map((name) => h("option", { value: name })));
  return { element, offer };
}
