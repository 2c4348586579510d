import { mkdirSync } from "node:fs";
import { join } from "node:path";
import chromium from "@sparticuz/chromium";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminClient } from "../../bin/api-client.ts";
import { REPO_ROOT } from "../../infra/cloud/constructs/mft-function.ts";
import type { LocalRuntime } from "../../infra/local/runtime.ts";
import { type SeriesPoint, saveSeriesPoint } from "../../shared/sync/series.ts";
import { apiError } from "../support/api.ts";
import { startOwnRuntime } from "../support/runtime.ts";
import { waitFor } from "../support/wait.ts";

/**
 * The console (R23) in a real headless Chromium against the local runtime. Own runtime: these
 * tests change production's failover settings (timeout, automatic sync) and run a full sync,
 * which would race with the other test files on the shared one.
 */
const SCREENSHOTS = join(REPO_ROOT, "test", "browser", "screenshots");
const HOSTILE = `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">`;

let runtime: LocalRuntime;
let production: AdminClient;
let browser: Browser;
let page: Page;

type Settings = Record<string, unknown> & { timeoutMs: number; port: number; autoSync: boolean };

const text = (selector: string) =>
  page.$eval(selector, (element) => element.textContent ?? "").catch(() => "");

/** The value cell of a facts table's row, found by its label (rows come and go as pages grow). */
const fact = (table: string, label: string) =>
  `::-p-xpath(//table[@id="${table}"]//tr[th="${label}"]/td)`;

/** Waits until the element's text satisfies `test` (the page updates it asynchronously). */
async function waitForText(selector: string, test: (value: string) => boolean, what: string) {
  await waitFor(async () => test(await text(selector)), 30_000, `${what} (${selector})`);
}

/** A property of the element (`value`, `disabled`), read in the page (no DOM types here). */
const property = (selector: string, name: string) =>
  page.evaluate(`document.querySelector(${JSON.stringify(selector)})?.${name}`);

/** Types a value into an input as a person would (select all, type over it). */
async function setValue(selector: string, value: string) {
  await page.click(selector, { count: 3 });
  await page.keyboard.press("Backspace");
  await page.type(selector, value);
}

/** Loads the page afresh at `hash` (session storage keeps the sign-in) and waits for `ready`. */
async function open(hash: string, ready: string, url = runtime.production.url) {
  await page.goto("about:blank");
  await page.goto(`${url}/#${hash}`);
  await page.waitForSelector(ready);
}

/** Signs in on the console at `url` (each region is its own origin, with its own sign-in). */
async function signIn(url: string) {
  await page.goto("about:blank");
  await page.goto(`${url}/`);
  await page.waitForSelector("#sign-in");
  await page.type("#username", runtime.admin.username);
  await page.type("#password", runtime.admin.password);
  await page.click("#sign-in button[type=submit]");
  await page.waitForSelector("#failover-form");
}

/** The points of a chart's line (`data-label`), one list per unbroken run, as [x, y]. */
const runsOf = (chart: string, label: string) =>
  page.$$eval(`#${chart} g[data-label="${label}"] > *`, (elements) =>
    elements.map((element) =>
      element.tagName === "circle"
        ? [[Number(element.getAttribute("cx")), Number(element.getAttribute("cy"))]]
        : (element.getAttribute("points") ?? "")
            .split(" ")
            .map((pair: string) => pair.split(",").map(Number)),
    ),
  );

const shoot = (name: string) =>
  page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // A heartbeat every 5 s: the failover's status shows production's heartbeats soon (missed
  // after 10 s, which a loaded machine's pipeline stays well within).
  runtime = await startOwnRuntime({ heartbeatSeconds: 5 });
  production = new AdminClient(runtime.production.url, runtime.admin);
  await production.request("PUT", "/api/domains/acme", { description: HOSTILE });
  await production.request("PUT", "/api/domains/acme/users/alice", {
    password: "alice-Passw0rd!",
    homeDirectory: "/data/alice",
  });
  await production.request("PUT", "/api/domains/acme/services/sftp", {
    protocol: "SFTP",
    ip: "10.0.0.5",
    port: 22,
  });
  await production.request("PUT", "/api/triggers/notify", {
    event: "Failover Synchronization",
    description: HOSTILE,
    actions: [{ type: "email", to: ["ops@example.com"], subject: "sync" }],
  });
  browser = await puppeteer.launch({
    executablePath: process.env.MFT_CHROMIUM ?? (await chromium.executablePath()),
    args: chromium.args,
    headless: true,
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 900 });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await runtime?.stop();
});

describe("the web console in a real browser (R23)", { timeout: 120_000 }, () => {
  it("is served by the admin API with a strict CSP, no framing, no sniffing", async () => {
    const response = await page.goto(`${runtime.production.url}/`);
    expect(response?.status()).toBe(200);
    const headers = response?.headers() ?? {};
    expect(headers["content-type"]).toMatch(/^text\/html/);
    expect(headers["content-security-policy"]).toContain("script-src 'self'");
    expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(headers["content-security-policy"]).not.toContain("unsafe-inline");
    expect(headers["x-content-type-options"]).toBe("nosniff");
    // No inline script in the page: everything runs from /console/console.js.
    const inline = await page.evaluate(
      "[...document.scripts].filter((script) => !script.src).map((script) => script.textContent)",
    );
    expect(inline).toEqual([]);
  });

  it("never makes the browser ask for credentials itself, which it would keep for the origin (issue 22.8)", async () => {
    // The DevTools protocol reports each challenge the browser would answer with its own dialog.
    const probe = await browser.newPage();
    const session = await probe.createCDPSession();
    const challenged: string[] = [];
    session.on("Fetch.authRequired", (event) => {
      challenged.push(event.request.url);
      void session.send("Fetch.continueWithAuth", {
        requestId: event.requestId,
        authChallengeResponse: { response: "CancelAuth" },
      });
    });
    session.on("Fetch.requestPaused", (event) => {
      void session.send("Fetch.continueRequest", { requestId: event.requestId });
    });
    await session.send("Fetch.enable", { handleAuthRequests: true });
    for (const path of ["/api/domains", "/_local/regions"]) {
      const response = await probe.goto(`${runtime.production.url}${path}`);
      expect(response?.status(), path).toBe(401);
    }
    await probe.close();
    expect(challenged).toEqual([]);
  });

  it("signs in with the admin credentials, kept in session storage only", async () => {
    await page.goto(`${runtime.production.url}/`);
    await page.waitForSelector("#sign-in");
    await page.type("#username", "admin");
    await page.type("#password", "wrong-password");
    await page.click("#sign-in button[type=submit]");
    await waitForText("#sign-in-message", (value) => value.includes("Wrong"), "wrong password");
    await shoot("sign-in");
    await setValue("#password", runtime.admin.password);
    await page.click("#sign-in button[type=submit]");
    await page.waitForSelector("#failover-form");
    await waitForText("#who", (value) => value === "Signed in as admin", "signed in");
    const stored = await page.evaluate(
      "({ session: Object.keys(sessionStorage), local: Object.keys(localStorage), cookie: document.cookie })",
    );
    expect(stored).toEqual({ session: ["mft-console-credentials"], local: [], cookie: "" });
    expect(page.url()).not.toContain(runtime.admin.password);
  });

  it("changes the timeout and shows it saved", async () => {
    await open("failover", "#failover-form");
    await setValue("#field-timeoutMs", "15000");
    await page.click("#save");
    await waitForText("#form-message", (value) => value === "Saved.", "save");
    expect((await production.request<Settings>("GET", "/api/failover")).timeoutMs).toBe(15000);
    await open("failover", "#failover-form");
    expect(await property("#field-timeoutMs", "value")).toBe("15000");
    await shoot("failover");
  });

  it("shows the API's message next to a bad port, and saves nothing", async () => {
    const before = await production.request<Settings>("GET", "/api/failover");
    const expected = await apiError(
      production.request("PUT", "/api/failover", {
        ...before,
        passwordSet: undefined,
        port: 70000,
      }),
    );
    expect(expected.message).toMatch(/^port: /);
    await open("failover", "#failover-form");
    await setValue("#field-timeoutMs", "20000");
    await setValue("#field-port", "70000");
    await page.click("#save");
    await waitForText("#error-port", (value) => value !== "", "the port's message");
    expect(await text("#error-port")).toBe(expected.message.slice("port: ".length));
    expect(await text("#form-message")).toBe("");
    expect(await production.request("GET", "/api/failover")).toEqual(before);
    await shoot("failover-bad-port");
  });

  it("disables Synchronize State while automatic sync is on; once off, runs it to 100 % with the result", async () => {
    expect((await production.request<Settings>("GET", "/api/failover")).autoSync).toBe(true);
    await open("failover", "#failover-form");
    expect(await property("#synchronize", "disabled")).toBe(true);
    expect(await text("#synchronize-reason")).toContain("automatic synchronization is on");
    // Unticking the box is not enough while the saved setting is still on.
    await page.click("#field-autoSync");
    expect(await property("#synchronize", "disabled")).toBe(true);
    expect(await text("#synchronize-reason")).toContain("Save the settings first");
    await page.click("#save");
    await waitForText("#form-message", (value) => value === "Saved.", "save");
    expect((await production.request<Settings>("GET", "/api/failover")).autoSync).toBe(false);
    await waitFor(async () => (await property("#synchronize", "disabled")) === false, 10_000);
    expect(await text("#synchronize-reason")).toBe("");
    // Ticking it again disables it at once.
    await page.click("#field-autoSync");
    expect(await property("#synchronize", "disabled")).toBe(true);
    await page.click("#field-autoSync");

    await page.click("#synchronize");
    await waitForText("#sync-result", (value) => value.startsWith("Synchronized"), "full sync");
    expect(await text("#sync-progress-text")).toMatch(/^100 %/);
    expect(await property("#sync-progress", "value")).toBe(100);
    // The failover has what production has.
    expect(
      await new AdminClient(runtime.failover.url, runtime.admin).request(
        "GET",
        "/api/domains/acme",
      ),
    ).toMatchObject({ name: "acme" });
    await shoot("failover-synchronized");
  });

  it("shows on the status page a change made through the API, by itself", async () => {
    await open("status", "#status-facts");
    const row = fact("status-facts", "Automatic sync");
    await waitForText(row, (value) => value === "off", "automatic sync off");
    const settings = await production.request<Settings>("GET", "/api/failover");
    await production.request("PUT", "/api/failover", {
      ...settings,
      passwordSet: undefined,
      autoSync: true,
    });
    await waitForText(row, (value) => value === "on", "automatic sync on, without a reload");
    await waitForText(
      fact("status-facts", "Last full sync"),
      (value) => value.startsWith("succeeded"),
      "last full sync",
    );
    await shoot("status");
  });

  it("draws the last hour's lag and queue depth from the status's series, a gap where no point was taken", async () => {
    // Arrange: the hour as the heartbeat stores it, minutes -50 … -1 (well inside the window,
    // however slow the page opens), minute -30 missing (the monitor did not run), a lag spike at
    // -20 and a backlog that drains; minute 0 is the monitor's own.
    const now = Date.now();
    const seeded: SeriesPoint[] = [];
    for (let minute = 50; minute >= 1; minute--) {
      if (minute === 30) continue;
      const lag = minute === 20 ? 1800 : 200 + 10 * (minute % 7);
      const backlog = minute <= 25 && minute > 15 ? 40 - 2 * Math.abs(20 - minute) : 0;
      seeded.push({
        at: new Date(now - minute * 60_000).toISOString(),
        lagP50Ms: Math.round(lag / 3),
        lagP99Ms: lag,
        queued: backlog,
        inFlight: backlog ? 2 : 0,
        deadLettered: minute < 18 ? 1 : 0,
      });
    }
    for (const point of seeded) await saveSeriesPoint(runtime.production.services.store, point);

    await open("status", "#chart-lag");
    await waitFor(async () => (await runsOf("chart-lag", "p99")).flat().length >= 49, 10_000);

    // The missing minute splits every line in two; each seeded minute is a vertex.
    const p99 = await runsOf("chart-lag", "p99");
    expect(p99).toHaveLength(2);
    expect(p99[0]).toHaveLength(20);
    expect(p99[1]?.length).toBeGreaterThanOrEqual(29);
    expect(await runsOf("chart-queue", "queued")).toHaveLength(2);
    // The scale rounds the highest value up to 1, 2 or 5 × 10ⁿ (the seeded 1800 → 2000, or the
    // monitor's own point above it); the spike is the highest seeded vertex.
    const axis = await page.$$eval("#chart-lag text.axis", (texts) =>
      texts.map((t) => t.textContent ?? ""),
    );
    expect(axis[0]).toBe("0");
    expect(axis[2]).toMatch(/^[125]0*$/);
    expect(Number(axis[2])).toBeGreaterThanOrEqual(2000);
    const seededYs = [...(p99[0] ?? []), ...(p99[1] ?? []).slice(0, 29)].map(([, y]) => y);
    const spike = seeded.findIndex((point) => point.lagP99Ms === 1800);
    expect(Math.min(...(seededYs as number[]))).toBe(seededYs[spike]);
    // The legend gives each line's newest value: the monitor's point of this minute.
    const { series } = await production.request<{ series: { points: SeriesPoint[] } }>(
      "GET",
      "/api/failover/status",
    );
    // The newest point is the monitor's own, of this minute, with the heartbeats' lag.
    const newest = series.points.at(-1);
    expect(Date.now() - Date.parse(newest?.at ?? "")).toBeLessThan(60_000);
    expect(newest?.lagP99Ms).toBeGreaterThanOrEqual(0);
    expect(newest?.deadLettered).toBe(0);
    await waitForText(
      "#chart-queue .legend .line-3",
      (value) => value === "dead-lettered: 0 changes",
      "the newest dead-letter count",
    );
    await shoot("status-charts");
  });

  it("shows on the failover's status page whom it receives from, the last heartbeat and its age", async () => {
    // Production's own page has no receiving side.
    await open("status", "#status-facts");
    expect(await page.$("#status-receiving")).toBeNull();

    await signIn(runtime.failover.url);
    await open("status", "#status-receiving", runtime.failover.url);

    expect(await text(fact("status-receiving", "From"))).toBe(runtime.production.serverId);
    await waitForText(fact("status-receiving", "Missed"), (value) => value === "no", "not missed");
    expect(await text(fact("status-receiving", "Age"))).toMatch(/^\d+(\.\d)? s$/);
    const applied = Date.parse(
      (
        await new AdminClient(runtime.failover.url, runtime.admin).request<{
          receiving: { lastHeartbeatAt: string };
        }>("GET", "/api/failover/status")
      ).receiving.lastHeartbeatAt,
    );
    expect(Date.now() - applied).toBeLessThan(30_000);
    expect(await text(fact("status-receiving", "Last heartbeat applied"))).not.toBe("—");
    await shoot("status-failover");
  });

  it("shows a value containing <script> as text, and runs nothing", async () => {
    await open("domains", ".domain");
    await waitForText(".domain p", (value) => value.includes("<script>"), "the description");
    expect(await text(".domain p")).toBe(
      `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">`,
    );
    expect(await page.$$(".domain p script, .domain p img")).toEqual([]);
    await shoot("domains");
    await open("triggers", "#triggers-table");
    expect(await text("#triggers-table tbody tr td:nth-child(1)")).toBe("notify");
    expect(await text("#triggers-table tbody tr td:nth-child(2)")).toBe(HOSTILE);
    await shoot("triggers");
    expect(await page.evaluate("window.__pwned")).toBeUndefined();
  });

  it("verifies drift and shows the differences per domain", async () => {
    await open("drift", "#verify");
    await page.click("#verify");
    await waitForText("#drift-message", (value) => /difference/.test(value), "verify");
    await page.waitForSelector("#drift-table");
    await shoot("drift");
  });
  it("the Domains page: each domain's recent changes, newest first; what changed since a moment, and a rewind only once confirmed (R26)", async () => {
    // A change to list, and a domain to delete by mistake, then put back.
    await production.request("PUT", "/api/domains/acme/users/carol", {
      password: "carol-Passw0rd!",
      homeDirectory: "/data/carol",
      email: "carol@example.com",
    });
    await production.request("PUT", "/api/domains/payroll", { description: "pay" });
    await production.request("PUT", "/api/domains/payroll/users/bob", {
      password: "bob-Passw0rd!",
      homeDirectory: "/data/bob",
    });
    // The form takes a moment to the second: the next whole second, once it has passed.
    const moment = Math.ceil(Date.now() / 1000) * 1000;
    await waitFor(() => Date.now() > moment, 2_000, "the moment to pass");
    await production.request("DELETE", "/api/domains/payroll");

    await open("domains", "#rewind-form");
    const acmeChanges = `::-p-xpath(//section[@class="domain"][h3[starts-with(., "acme")]]//table[contains(@class, "changes")]//tbody/tr)`;
    await page.waitForSelector(acmeChanges);
    const rows = await page.$$eval(acmeChanges, (trs) =>
      trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")),
    );
    expect(rows[0]?.slice(1)).toEqual([
      "user:carol",
      "put",
      "email, enabled, groups, homeDirectory, password",
      runtime.production.serverId,
    ]);
    const times = rows.map(([time]) => Date.parse(time ?? ""));
    expect(rows.map(([, id]) => id)).toEqual(expect.arrayContaining(["domain", "service:sftp"]));
    expect(times.every((time, index) => index === 0 || time <= (times[index - 1] ?? 0))).toBe(true);

    // What changed since the moment: the deleted domain would come back; nothing written yet.
    await page.type("#rewind-domain", "payroll");
    await page.$eval(
      "#rewind-at",
      (input, ms) => {
        const local = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
        (input as unknown as { value: string }).value = local.toISOString().slice(0, 19);
      },
      moment,
    );
    await page.click("#rewind-preview");
    await page.waitForSelector("#rewind-plan");
    const plan = await page.$$eval("#rewind-plan tbody tr", (trs) =>
      trs.map((tr) =>
        [...tr.querySelectorAll("td")]
          .map((td) => td.textContent)
          .join(" ")
          .trim(),
      ),
    );
    expect(plan).toEqual(["add domain —", "add user:bob —"]);
    expect(await property("#rewind-confirm-step", "hidden")).toBe(true);

    // The rewind asks first; cancelled, nothing is written.
    await page.click("#rewind-start");
    expect(await property("#rewind-confirm-step", "hidden")).toBe(false);
    expect(await text("#rewind-confirm")).toMatch(/^Yes, rewind payroll to /);
    await shoot("domains-rewind");
    await page.click("#rewind-cancel");
    expect(await property("#rewind-confirm-step", "hidden")).toBe(true);
    expect((await apiError(production.request("GET", "/api/domains/payroll"))).status).toBe(404);

    await page.click("#rewind-start");
    await page.click("#rewind-confirm");
    await waitForText("#rewind-message", (value) => value.startsWith("Rewound"), "the rewind");
    expect(await text("#rewind-message")).toMatch(/^Rewound payroll to .*: 2 item\(s\) written/);
    expect(await production.request("GET", "/api/domains/payroll/users/bob")).toMatchObject({
      username: "bob",
      homeDirectory: "/data/bob",
    });
    await page.waitForSelector(
      `::-p-xpath(//section[@class="domain"]/h3[starts-with(., "payroll")])`,
    );
    await shoot("domains-rewound");
  });
});
