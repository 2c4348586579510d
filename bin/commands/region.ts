import type { Command } from "commander";
import { type AdminClient, UnreachableError } from "../api-client.ts";
import { type Cli, localRegionUrls, UsageError } from "../context.ts";

const REGION_ACTIONS = ["down", "up", "offline", "online"] as const;
type RegionAction = (typeof REGION_ACTIONS)[number];

interface RegionView {
  name: "production" | "failover";
  url: string;
  state: "up" | "offline" | "down";
}

const REGION_OUTCOME: Record<RegionAction, string> = {
  down: "is down: its API refuses connections; its stream and queue pollers, schedules (the monitor), state machines and triggers are stopped; its table and queues keep their data",
  up: "is up: its API, pollers, schedules and triggers run again; the stream poller resumes after the last change it handled",
  offline: "is offline: its API refuses connections (everything else runs)",
  online: "is online: its API answers again",
};

const HELP = `
Regions (the names \`npm start\` prints; \`region list\` shows their state now):
  production   (also: primary)  http://127.0.0.1:$MFT_PRIMARY_PORT, 8610 by default
  failover                      http://127.0.0.1:$MFT_FAILOVER_PORT, 8620 by default

States and the actions that lead to them:
  up        everything runs                                    (up, online)
  offline   only its admin API's port refuses connections      (offline)
  down      the whole region is out, as in an outage: API, stream and queue pollers,
            schedules, state machines and triggers stop; its table and queues keep
            their data                                         (down)

Every action works from any region's URL, the region it concerns included: when --url does
not answer (that region is down or offline), the other local region is asked
($MFT_PRIMARY_PORT, $MFT_FAILOVER_PORT), and a region is never asked to take itself out (the
other one does it). So \`region production offline\` and then \`region production online\`
both work from production's own URL, as do \`down\` and \`up\`.

Examples:
  mft-failover region list
  mft-failover region production down
  mft-failover region production up
  mft-failover region failover offline`;

/** Local mode's regions (R24): a whole region out and back, or only its API off the network. */
export function register(program: Command, cli: Cli): void {
  program
    .command("region <name> [action]")
    .summary("local mode: `region list`; `region production|failover down|up|offline|online`")
    .description(
      "local mode: `region list` shows each region's state; `region <production|failover> <down|up|offline|online>` takes a whole region out as an outage would, or only its API's port, and brings it back",
    )
    .addHelpText("after", HELP)
    .action(async (name: string, action: string | undefined) => {
      if (name === "list") {
        if (action) throw new UsageError("`region list` takes no action");
        const { items } = await cli
          .client()
          .request<{ items: RegionView[] }>("GET", "/_local/regions");
        if (cli.json) return cli.print({ items });
        for (const region of items)
          console.log(`${region.name.padEnd(12)}${region.state.padEnd(9)}${region.url}`);
        return;
      }
      if (!REGION_ACTIONS.includes(action as RegionAction)) {
        throw new UsageError(
          `region ${name} ${action ?? ""}: the action is one of ${REGION_ACTIONS.join(", ")}`.replace(
            "  ",
            " ",
          ),
        );
      }
      const { api: asked, regions } = await anyRegion(cli);
      // `primary`: production's old name, still accepted (as `/_local/regions/primary/…` is).
      const wanted = name === "primary" ? "production" : name;
      const target = regions.find((region) => region.name === wanted);
      if (!target) throw new UsageError(`no region ${name}: production or failover`);
      // A region cannot take itself out (it could not answer): send it through another one.
      const leaving = action === "down" || action === "offline";
      const here = regions.find((region) => sameUrl(region.url, asked.baseUrl));
      const via =
        leaving && (here === undefined || here === target)
          ? regions.find((region) => region !== target && region.state === "up")?.url
          : asked.baseUrl;
      if (!via) {
        throw new UsageError(`no other region is up to take ${target.name} ${action} through`);
      }
      const view = await cli
        .client(via)
        .request<RegionView>(
          "POST",
          `/_local/regions/${encodeURIComponent(target.name)}/${action}`,
        );
      if (cli.json) return cli.print(view);
      console.log(`${view.name} ${REGION_OUTCOME[action as RegionAction]}.`);
      if (leaving) {
        const back = action === "down" ? "up" : "online";
        console.log(`Bring it back: mft-failover --url ${via} region ${view.name} ${back}`);
      }
    });
}

const sameUrl = (a: string, b: string) => new URL(a).origin === new URL(b).origin;

/**
 * The regions as the first local region that answers lists them: --url, else (it may be the
 * region that was taken down) the other one of this environment's local regions.
 */
async function anyRegion(cli: Cli): Promise<{ api: AdminClient; regions: RegionView[] }> {
  const own = cli.client();
  const others = Object.values(localRegionUrls()).filter((url) => !sameUrl(url, own.baseUrl));
  let first: UnreachableError | undefined;
  for (const api of [own, ...others.map((url) => cli.client(url))]) {
    try {
      const { items } = await api.request<{ items: RegionView[] }>("GET", "/_local/regions");
      if (api !== own && !cli.json)
        console.error(`(${own.baseUrl} does not answer: asked ${api.baseUrl})`);
      return { api, regions: items };
    } catch (error) {
      if (!(error instanceof UnreachableError)) throw error;
      first ??= error;
    }
  }
  throw first;
}
