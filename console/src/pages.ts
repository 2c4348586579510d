import { api } from "./api.ts";
import { timeChart } from "./chart.ts";
import { errorText, fill, grid, h, show } from "./dom.ts";
import { recentChanges, rewindPanel } from "./rewind.ts";

type Data = Record<string, unknown>;
type Page<T> = { items: T[]; nextCursor?: string };

const REFRESH_MS = 2000;

/** A two-column table of label → value; every value goes in as text. */
const facts = (id: string, entries: [string, unknown][]) =>
  h(
    "table",
    { class: "facts", id },
    h(
      "tbody",
      {},
      ...entries.map(([label, value]) =>
        h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, show(value))),
      ),
    ),
  );

interface Series {
  stepSeconds: number;
  windowSeconds: number;
  points: {
    at: string;
    lagP50Ms: number | null;
    lagP99Ms: number | null;
    queued: number;
    inFlight: number;
    deadLettered: number;
  }[];
}

/** On a failover: production's heartbeats as they arrive here (R20 `receiving`). */
const receivingFacts = (receiving: Data) =>
  h(
    "section",
    { class: "receiving" },
    h("h3", {}, "Receiving (this server is a failover)"),
    facts("status-receiving", [
      ["From", receiving.from],
      ["Last heartbeat applied", receiving.lastHeartbeatAt],
      ["Age", `${show(receiving.ageSeconds)} s`],
      ["Missed", receiving.missed ? "yes: production's heartbeats stopped arriving" : "no"],
    ]),
  );

/** The status's last hour: lag and queue depths, a point a minute (taken by the heartbeat). */
function seriesCharts(series: Series | null) {
  if (!series) return null;
  const { points } = series;
  const to = Math.max(Date.now(), ...points.map((point) => Date.parse(point.at)));
  const common = {
    times: points.map((point) => Date.parse(point.at)),
    from: to - series.windowSeconds * 1000,
    to,
    // Points are a minute apart, give or take the schedule's jitter; a missed minute makes two.
    maxStepMs: 1.5 * series.stepSeconds * 1000,
  };
  return h(
    "section",
    { class: "charts" },
    h("h3", {}, "Last hour"),
    points.length
      ? null
      : h("p", { class: "hint" }, "No points yet: the heartbeat takes one a minute."),
    timeChart({
      ...common,
      id: "chart-lag",
      title: "Replication lag",
      unit: "ms",
      lines: [
        { label: "p50", className: "line-1", values: points.map((point) => point.lagP50Ms) },
        { label: "p99", className: "line-2", values: points.map((point) => point.lagP99Ms) },
      ],
    }),
    timeChart({
      ...common,
      id: "chart-queue",
      title: "Queue depth",
      unit: "changes",
      lines: [
        { label: "queued", className: "line-1", values: points.map((point) => point.queued) },
        { label: "in flight", className: "line-2", values: points.map((point) => point.inFlight) },
        {
          label: "dead-lettered",
          className: "line-3",
          values: points.map((point) => point.deadLettered),
        },
      ],
    }),
  );
}

/** R20: the live status, refreshed every two seconds while the page is open. */
export async function statusPage(main: HTMLElement, alive: () => boolean): Promise<void> {
  const body = h("div", { id: "status" });
  const updated = h("p", { class: "hint", id: "status-updated" });
  const message = h("p", { id: "status-message", role: "status" });
  fill(main, h("h2", {}, "Status"), updated, message, body);
  const render = async () => {
    const s = await api<Data & Record<string, Data | null>>("GET", "/api/failover/status");
    const sync = (s.sync ?? {}) as Data;
    const module = (s.module ?? {}) as Data;
    const connection = s.connection as Data | null;
    const heartbeat = (s.heartbeat ?? {}) as Data;
    const receiving = s.receiving as Data | null;
    const queue = (s.queue ?? {}) as Data;
    const lag = (s.lag ?? {}) as Data;
    const event = s.lastEvent as Data | null;
    const full = s.lastFullSync as Data | null;
    const resume =
      sync.state === "suspended"
        ? h(
            "button",
            {
              type: "button",
              id: "resume",
              onclick: async () => {
                try {
                  await api("POST", "/api/failover/resume");
                  message.textContent = "Resumed.";
                  await render();
                } catch (error) {
                  message.textContent = errorText(error);
                }
              },
            },
            "Resume",
          )
        : null;
    fill(
      body,
      facts("status-facts", [
        ["Module", module.enabled ? "enabled" : "disabled"],
        ["Automatic sync", module.autoSync ? "on" : "off"],
        ["Sync state", `${show(sync.state)}${sync.reason ? ` (${sync.reason})` : ""}`],
        ["Since", sync.since],
        ["Connection", connection ? `${connection.state} since ${show(connection.since)}` : null],
        ["Heartbeat", heartbeat.missed ? "missed" : heartbeat.lastSentAt ? "ok" : null],
        ["Last heartbeat sent", heartbeat.lastSentAt],
        ["Last heartbeat applied", heartbeat.lastAppliedAt],
        ["Lag p50 (ms)", lag.p50Ms],
        ["Lag p99 (ms)", lag.p99Ms],
        ["Queued", queue.queued],
        ["In flight", queue.inFlight],
        ["Dead-lettered", queue.deadLettered],
        [
          "Last event",
          event
            ? `${show(event.Mode)} ${event.Success ? "succeeded" : "failed"}, ${show(event.Items)} item(s), at ${show(event.FinishedAt)}`
            : null,
        ],
        [
          "Last full sync",
          full ? `${show(full.state)} at ${show(full.finishedAt ?? full.startedAt)}` : null,
        ],
      ]),
      resume,
      receiving ? receivingFacts(receiving) : null,
      seriesCharts(s.series as Series | null),
    );
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}; refreshes by itself.`;
  };
  await render();
  const timer = setInterval(() => {
    if (!alive()) return clearInterval(timer);
    render().catch((error: unknown) => {
      message.textContent = errorText(error);
    });
  }, REFRESH_MS);
}

interface Drift {
  checkedAt: string;
  differences: number;
  pending: number;
  truncated: boolean;
  domains: {
    domain: string | null;
    missing: string[];
    extra: string[];
    different: { id: string; fields: string[] }[];
    pending: string[];
  }[];
}

/** R21: verify, the differences per domain, repair. */
export async function driftPage(main: HTMLElement): Promise<void> {
  const result = h("div", { id: "drift-result" });
  const message = h("p", { id: "drift-message", role: "status" });
  const verify = h("button", { type: "button", id: "verify" }, "Verify");
  const repair = h("button", { type: "button", id: "repair", disabled: true }, "Repair");
  verify.addEventListener("click", async () => {
    message.textContent = "Verifying…";
    try {
      const report = await api<Drift>("GET", "/api/failover/drift");
      message.textContent = `${report.differences} difference(s), ${report.pending} pending (automatic sync still carries them), checked ${show(report.checkedAt)}${report.truncated ? " (list truncated)" : ""}.`;
      repair.disabled = report.differences === 0;
      fill(
        result,
        grid(
          ["Domain", "Missing on the failover", "Extra on the failover", "Different", "Pending"],
          report.domains.map((d) => [
            d.domain ?? "(server)",
            d.missing.join(", "),
            d.extra.join(", "),
            d.different.map((x) => `${x.id} (${x.fields.join(", ")})`).join("; "),
            d.pending.join(", "),
          ]),
          "drift-table",
        ),
      );
    } catch (error) {
      message.textContent = errorText(error);
    }
  });
  repair.addEventListener("click", async () => {
    try {
      const answer = await api<{ items: number; refused: unknown[] }>(
        "POST",
        "/api/failover/repair",
      );
      const refused = answer.refused.length
        ? ` ${answer.refused.length} refused: the failover's version is too far ahead; a full sync replaces them.`
        : "";
      message.textContent = `Repair sent ${answer.items} item(s); verify again to see it applied.${refused}`;
    } catch (error) {
      message.textContent = errorText(error);
    }
  });
  fill(main, h("h2", {}, "Drift"), h("p", {}, verify, " ", repair), message, result);
}

/** Domains with their users, groups and services; start and stop. */
export async function domainsPage(main: HTMLElement): Promise<void> {
  const message = h("p", { id: "domains-message", role: "status" });
  const list = h("div", { id: "domains" });
  const rewind = rewindPanel(() => render());
  fill(main, h("h2", {}, "Domains"), message, list, rewind.element);
  const render = async () => {
    const { items } = await api<Page<Data>>("GET", "/api/domains?limit=1000");
    const details = await Promise.all(
      items.map(async (domain) => {
        const base = `/api/domains/${encodeURIComponent(String(domain.name))}`;
        const [[users, groups, services], changes] = await Promise.all([
          Promise.all(
            ["users", "groups", "services"].map((kind) =>
              api<Page<Data>>("GET", `${base}/${kind}?limit=1000`),
            ),
          ),
          recentChanges(String(domain.name)),
        ]);
        const toggle = h(
          "button",
          {
            type: "button",
            class: "run",
            onclick: async () => {
              try {
                await api("POST", `${base}/${domain.running ? "stop" : "start"}`);
                await render();
              } catch (error) {
                message.textContent = errorText(error);
              }
            },
          },
          domain.running ? "Stop" : "Start",
        );
        return h(
          "section",
          { class: "domain" },
          h(
            "h3",
            {},
            String(domain.name),
            " ",
            h("span", { class: "badge" }, domain.running ? "running" : "stopped"),
            " ",
            toggle,
          ),
          h("p", {}, show(domain.description)),
          grid(
            ["User", "Home", "Groups", "Enabled"],
            (users?.items ?? []).map((u) => [
              u.username,
              u.homeDirectory,
              (u.groups as string[] | undefined)?.join(", "),
              u.enabled,
            ]),
          ),
          grid(
            ["Group", "Description"],
            (groups?.items ?? []).map((g) => [g.name, g.description]),
          ),
          grid(
            ["Service", "Protocol", "IP", "Port"],
            (services?.items ?? []).map((s) => [s.id, s.protocol, s.ip, s.port]),
          ),
          changes,
        );
      }),
    );
    fill(list, ...(details.length ? details : [h("p", {}, "No domains.")]));
    rewind.offer(items.map((domain) => String(domain.name)));
  };
  await render();
}

/** The triggers (R17) and, in local mode, their recent runs. */
export async function triggersPage(main: HTMLElement): Promise<void> {
  const { items } = await api<Page<Data>>("GET", "/api/triggers?limit=1000");
  const runs = h("div", { id: "trigger-runs" });
  fill(
    main,
    h("h2", {}, "Triggers"),
    grid(
      ["Trigger", "Description", "Event", "Enabled", "Condition", "Actions"],
      items.map((t) => [
        t.id,
        t.description,
        t.event,
        t.enabled,
        t.condition,
        (t.actions as Data[])
          .map((a) =>
            a.type === "email"
              ? `email ${(a.to as string[]).join(", ")}`
              : `${show(a.method)} ${show(a.url)}`,
          )
          .join("; "),
      ]),
      "triggers-table",
    ),
    h("h3", {}, "Recent runs"),
    runs,
  );
  try {
    // Local mode keeps recent runs at /_local/trigger-runs; in the cloud they are in the logs.
    const recent = await api<{ items: Data[] }>("GET", "/_local/trigger-runs");
    fill(
      runs,
      grid(
        ["Trigger", "At", "Outcome"],
        recent.items
          .slice(-50)
          .reverse()
          .map((run) => [run.triggerId, run.finishedAt, run.ok ? "ok" : "failed"]),
      ),
    );
  } catch {
    fill(
      runs,
      h("p", { class: "hint" }, "Runs are in the trigger-actions function's logs (CloudWatch)."),
    );
  }
}
