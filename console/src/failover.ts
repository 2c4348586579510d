import { ApiError, api } from "./api.ts";
import { fill, h } from "./dom.ts";

interface Settings {
  enabled: boolean;
  host?: string;
  port: number;
  useTls: boolean;
  timeoutMs: number;
  username?: string;
  passwordSet: boolean;
  startAfterSync: boolean;
  autoSync: boolean;
  suspendAfterSeconds: number;
  autoResume: boolean;
  ipSubstitutions: { ip: string; substituteIp: string }[];
}

interface SyncView {
  syncId: string;
  state: "running" | "succeeded" | "failed";
  step: string;
  items: { done: number; total: number | null };
  records?: { copied?: number };
  durationMs: number;
  errors: string[];
}

type Field = { name: keyof Settings; label: string; type: "checkbox" | "text" | "number" };

/** R5's fields, labelled as in the Settings > Failover panel. */
const FIELDS: Field[] = [
  { name: "enabled", label: "Enable failover", type: "checkbox" },
  { name: "host", label: "Failover host", type: "text" },
  { name: "port", label: "Port", type: "number" },
  { name: "useTls", label: "Use TLS", type: "checkbox" },
  { name: "timeoutMs", label: "Timeout (ms)", type: "number" },
  { name: "username", label: "Username", type: "text" },
  { name: "startAfterSync", label: "Start services after synchronization", type: "checkbox" },
  { name: "autoSync", label: "Enable automatic failover server synchronization", type: "checkbox" },
  {
    name: "suspendAfterSeconds",
    label: "Suspend automatic sync when unreachable for (s)",
    type: "number",
  },
  { name: "autoResume", label: "Resume by itself when reachable again", type: "checkbox" },
];
/** Changing one of these sends the password to a new place: the API asks for it again. */
const TARGET_FIELDS = ["host", "port", "useTls", "username"] as const;

const POLL_MS = 500;

export async function failoverPage(main: HTMLElement, alive: () => boolean): Promise<void> {
  let saved = await api<Settings>("GET", "/api/failover");
  const inputs = new Map<string, HTMLInputElement>();
  const errors = new Map<string, HTMLElement>();
  const errorFor = (name: string) => {
    const element = h("span", { class: "error", id: `error-${name}`, role: "alert" });
    errors.set(name, element);
    return element;
  };

  const rows = FIELDS.map((field) => {
    const input = h("input", { id: `field-${field.name}`, name: field.name, type: field.type });
    inputs.set(field.name, input);
    return h(
      "div",
      { class: `row ${field.type}` },
      h("label", { for: input.id }, field.label),
      input,
      errorFor(field.name),
    );
  });
  const password = h("input", {
    id: "field-password",
    name: "password",
    type: "password",
    autocomplete: "new-password",
  });
  const passwordHint = h("span", { class: "hint", id: "password-hint" });
  rows.splice(
    6,
    0,
    h(
      "div",
      { class: "row text" },
      h("label", { for: password.id }, "Password"),
      password,
      h("span", { class: "messages" }, passwordHint, errorFor("password")),
    ),
  );

  const substitutions = h("tbody", { id: "ip-rows" });
  const addRow = (mapping = { ip: "", substituteIp: "" }) => {
    const ip = h("input", { class: "ip", value: mapping.ip, "aria-label": "IP address" });
    const substitute = h("input", {
      class: "substitute-ip",
      value: mapping.substituteIp,
      "aria-label": "Substitute IP address",
    });
    const row: HTMLTableRowElement = h(
      "tr",
      {},
      h("td", {}, ip),
      h("td", {}, substitute),
      h(
        "td",
        {},
        h("button", { type: "button", class: "remove", onclick: () => row.remove() }, "Remove"),
      ),
    );
    substitutions.append(row);
  };

  const message = h("p", { id: "form-message", role: "status" });
  const save = h("button", { type: "submit", id: "save" }, "Save");
  const test = h("button", { type: "button", id: "test-connection" }, "Test connection");
  const testResult = h("p", { id: "test-result", role: "status" });
  const synchronize = h("button", { type: "button", id: "synchronize" }, "Synchronize State");
  const syncReason = h("span", { class: "hint", id: "synchronize-reason" });
  const progress = h("progress", { id: "sync-progress", max: 100, value: 0, hidden: true });
  const progressText = h("span", { id: "sync-progress-text" });
  const syncResult = h("p", { id: "sync-result", role: "status" });

  const load = (settings: Settings) => {
    for (const field of FIELDS) {
      const input = inputs.get(field.name) as HTMLInputElement;
      const value = settings[field.name];
      if (field.type === "checkbox") input.checked = value === true;
      else input.value = value === undefined ? "" : String(value);
    }
    password.value = "";
    password.placeholder = settings.passwordSet ? "set" : "not set";
    substitutions.replaceChildren();
    for (const mapping of settings.ipSubstitutions) addRow(mapping);
    follow();
  };

  /** The form as the API takes it (a full replacement); the password only when typed. */
  const read = (): Record<string, unknown> => {
    const body: Record<string, unknown> = {};
    for (const field of FIELDS) {
      const input = inputs.get(field.name) as HTMLInputElement;
      if (field.type === "checkbox") body[field.name] = input.checked;
      else if (field.type === "number")
        body[field.name] = input.value === "" ? undefined : Number(input.value);
      else if (input.value.trim() !== "") body[field.name] = input.value.trim();
    }
    if (password.value !== "") body.password = password.value;
    body.ipSubstitutions = [...substitutions.querySelectorAll("tr")].map((row) => ({
      ip: (row.querySelector(".ip") as HTMLInputElement).value.trim(),
      substituteIp: (row.querySelector(".substitute-ip") as HTMLInputElement).value.trim(),
    }));
    return body;
  };

  /** Synchronize State follows the automatic-sync box; the password follows the target. */
  const follow = () => {
    const autoSync = (inputs.get("autoSync") as HTMLInputElement).checked;
    const reason = autoSync
      ? "Disabled while automatic synchronization is on."
      : saved.autoSync
        ? "Save the settings first: automatic synchronization is still on."
        : !saved.enabled || !saved.host
          ? "Configure and enable the failover first."
          : "";
    synchronize.disabled = reason !== "";
    syncReason.textContent = reason;
    const body = read();
    const moved = TARGET_FIELDS.filter((name) => body[name] !== saved[name]);
    passwordHint.textContent =
      saved.passwordSet && moved.length > 0 && password.value === ""
        ? `Enter the password again: ${moved.join(", ")} changed.`
        : "";
  };

  const clearErrors = () => {
    for (const element of errors.values()) element.textContent = "";
    message.textContent = "";
    message.className = "";
  };
  const showError = (error: unknown) => {
    if (error instanceof ApiError && error.field) {
      const top = error.field.split(/[.[]/)[0] as string;
      const target = errors.get(error.field) ?? errors.get(top);
      if (target) {
        target.textContent = error.detail;
        return;
      }
    }
    message.className = "error";
    message.textContent = error instanceof Error ? error.message : String(error);
  };

  const form = h(
    "form",
    { id: "failover-form", novalidate: true },
    ...rows,
    h("h3", {}, "IP substitution"),
    h(
      "table",
      { class: "grid" },
      h(
        "thead",
        {},
        h("tr", {}, h("th", {}, "IP address"), h("th", {}, "Substitute IP"), h("th", {})),
      ),
      substitutions,
    ),
    errorFor("ipSubstitutions"),
    h("p", {}, h("button", { type: "button", id: "add-ip", onclick: () => addRow() }, "Add row")),
    h("p", { class: "actions" }, save, " ", test),
    message,
    testResult,
  );
  form.addEventListener("input", follow);
  form.addEventListener("change", follow);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    save.disabled = true;
    try {
      saved = await api<Settings>("PUT", "/api/failover", read());
      load(saved);
      message.textContent = "Saved.";
    } catch (error) {
      showError(error);
    } finally {
      save.disabled = false;
    }
  });

  test.addEventListener("click", async () => {
    testResult.className = "";
    testResult.textContent = "Testing…";
    try {
      const answer = await api<{
        ok: boolean;
        peer?: { serverId: string; protocol: number };
        failed?: string;
        message?: string;
        latencyMs: number;
      }>("POST", "/api/failover/test");
      testResult.className = answer.ok ? "ok" : "error";
      testResult.textContent = answer.ok
        ? `Connected to ${answer.peer?.serverId} (protocol ${answer.peer?.protocol}) in ${answer.latencyMs} ms.`
        : `Failed at ${answer.failed}: ${answer.message}`;
    } catch (error) {
      testResult.className = "error";
      testResult.textContent = error instanceof Error ? error.message : String(error);
    }
  });

  synchronize.addEventListener("click", async () => {
    synchronize.disabled = true;
    syncResult.className = "";
    syncResult.textContent = "";
    progress.hidden = false;
    progress.value = 0;
    try {
      const { syncId } = await api<{ syncId: string }>("POST", "/api/failover/synchronize");
      let view: SyncView;
      for (;;) {
        view = await api<SyncView>("GET", `/api/failover/syncs/${encodeURIComponent(syncId)}`);
        const { done, total } = view.items;
        const percent =
          view.state === "succeeded"
            ? 100
            : total
              ? Math.min(99, Math.floor((done / total) * 100))
              : 0;
        progress.value = percent;
        progressText.textContent = `${percent} % (${view.step})`;
        if (view.state !== "running" || !alive()) break;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      syncResult.className = view.state === "succeeded" ? "ok" : "error";
      syncResult.textContent =
        view.state === "succeeded"
          ? `Synchronized: ${view.items.done} items in ${(view.durationMs / 1000).toFixed(1)} s.`
          : `Failed: ${view.errors.join("; ") || view.step}`;
    } catch (error) {
      syncResult.className = "error";
      syncResult.textContent = error instanceof Error ? error.message : String(error);
    } finally {
      follow();
    }
  });

  fill(
    main,
    h("h2", {}, "Failover"),
    form,
    h(
      "section",
      { class: "sync" },
      h("h3", {}, "Full synchronization"),
      h("p", {}, synchronize, " ", syncReason),
      h("p", {}, progress, " ", progressText),
      syncResult,
    ),
  );
  load(saved);
}
