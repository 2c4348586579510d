import { type HttpHandler, json } from "../../functions/http.ts";
import type { Credentials } from "../../shared/ports.ts";
import { type BusEvent, LocalEventBus } from "./event-bus.ts";
import { refusal } from "./local-access.ts";

/** The two local regions, by the names operators use (`npm start` prints these). */
export type RegionId = "production" | "failover";

/**
 * - `up`: everything runs;
 * - `offline`: only its admin API is off the network (its port refuses connections);
 * - `down`: the whole region is out, as in a real outage: its admin API, stream and queue
 *   pollers, scheduled jobs (the monitor), state machines and trigger deliveries are stopped;
 *   its table and queues keep their data.
 */
export type RegionState = "up" | "offline" | "down";

export type RegionAction = "down" | "up" | "offline" | "online";

/**
 * `production` and `failover`; undefined for anything else. `primary`, production's name in
 * the runtime before it took the operators' word, is still accepted so scripts keep working.
 */
export function regionId(name: string): RegionId | undefined {
  if (name === "production" || name === "primary") return "production";
  return name === "failover" ? "failover" : undefined;
}

/** A region as `GET /_local/regions` lists it. */
export interface RegionView {
  readonly name: RegionId;
  readonly url: string;
  readonly state: RegionState;
}

/** What a region loss stops, and `up` starts again. */
export interface RegionParts {
  /** Offline, its port refuses connections as a stopped server's would. */
  setApiOnline(online: boolean): Promise<void>;
  /** Stops everything else that runs in the region; resolves once in-flight work has ended. */
  stopWork(): Promise<void>;
  /** Starts it again where it stopped (the stream poller after its last checkpoint). */
  startWork(): Promise<void>;
}

/** `online` asked of a region that is down: only `up` brings a whole region back. */
export class RegionDownError extends Error {}

/**
 * One region's power switch. Changes are applied one at a time, in the order asked; asking
 * for the state a region is already in does nothing.
 */
export class RegionSwitch {
  private current: RegionState = "up";
  private changes: Promise<unknown> = Promise.resolve();

  constructor(private readonly parts: RegionParts) {}

  get state(): RegionState {
    return this.current;
  }

  /** offline/online: the admin API's port only. */
  setOnline(online: boolean): Promise<RegionState> {
    return this.serially(async () => {
      if (this.current === "down") {
        if (!online) return;
        throw new RegionDownError("the region is down: `up` brings all of it back");
      }
      await this.parts.setApiOnline(online);
      this.current = online ? "up" : "offline";
    });
  }

  /** down/up: the whole region. The API goes first, so no write is acknowledged after `down`. */
  setDown(down: boolean): Promise<RegionState> {
    return this.serially(async () => {
      if (down && this.current !== "down") {
        await this.parts.setApiOnline(false);
        this.current = "down";
        await this.parts.stopWork();
      } else if (!down && this.current === "down") {
        await this.parts.startWork();
        await this.parts.setApiOnline(true);
        this.current = "up";
      } else if (!down && this.current === "offline") {
        await this.parts.setApiOnline(true);
        this.current = "up";
      }
    });
  }

  private serially(change: () => Promise<void>): Promise<RegionState> {
    const next = this.changes.then(change).then(() => this.current);
    this.changes = next.catch(() => {});
    return next;
  }
}

/**
 * A region's EventBridge bus whose rules' targets (the triggers) get nothing while the region
 * is down. Events are still recorded, as status and tests read them.
 */
export class RegionEventBus extends LocalEventBus {
  delivering = true;

  override subscribe(listener: (event: BusEvent) => Promise<void>): void {
    super.subscribe((event) => (this.delivering ? listener(event) : Promise.resolve()));
  }
}

export interface RegionControl {
  list(): RegionView[];
  apply(id: RegionId, action: RegionAction): Promise<RegionView>;
}

const error = (status: number, code: string, message: string) =>
  json(status, { error: { code, message } });

/**
 * Local mode only, with the admin credentials (and the admin API's rules against other sites'
 * pages: a region's `down` is a write):
 * - `GET /_local/regions`: each region's name, URL and state;
 * - `POST /_local/regions/{name}/offline|online`: its admin API's port refuses connections, or
 *   serves again (a failover outage on one machine);
 * - `POST /_local/regions/{name}/down|up`: the whole region out (see RegionState) and back.
 *
 * `{name}` is `production` (or its old name `primary`) or `failover`. A region cannot take
 * itself offline or down through its own API, which would cut its answer: 409 names the region
 * to send it to.
 */
export function withRegionControl(
  next: HttpHandler,
  admin: Credentials,
  self: RegionId,
  control: RegionControl,
): HttpHandler {
  return async (event, context) => {
    const path = event.rawPath;
    const method = event.requestContext.http.method;
    const match = /^\/_local\/regions\/([^/]+)\/(down|up|offline|online)$/.exec(path);
    const listing = path === "/_local/regions" && method === "GET";
    if (!listing && (!match || method !== "POST")) return next(event, context);
    const refused = refusal(event, admin);
    if (refused) return refused;
    if (listing) return json(200, { items: control.list() });
    const [, name = "", action = "up"] = match ?? [];
    const id = regionId(name);
    if (!id) {
      return error(404, "not_found", `region ${name} not found (production or failover)`);
    }
    if (id === self && (action === "down" || action === "offline")) {
      const other = control.list().find((region) => region.name !== id);
      return error(
        409,
        "conflict",
        `${id} cannot take itself ${action}: it could not answer; send this to ${other ? `the ${other.name} (${other.url})` : "the other region"}`,
      );
    }
    try {
      return json(200, await control.apply(id, action as RegionAction));
    } catch (problem) {
      if (problem instanceof RegionDownError) {
        return error(409, "conflict", `${id} is down: \`up\` brings all of it back`);
      }
      throw problem;
    }
  };
}
