import { randomUUID } from "node:crypto";
import { targetChanges } from "../config/failover-settings.ts";
import { AppError, conflict, invalid, notFound } from "../errors.ts";
import type { FailoverSettings } from "../model/schemas.ts";
import type { Credentials, FullSyncPeer, RunStarter, SecretStore } from "../ports.ts";
import type { SyncEventDetail } from "./events.ts";
import { type ProductionAddress, parseFailbackRequest } from "./failback-request.ts";
import type { MonitorDeps } from "./monitor.ts";
import { resumeSync, saveFailoverSettings } from "./operations.ts";
import { peerName } from "./peer.ts";
import { RunLifecycle, type RunPorts, type TaskError, reasonOf as taskReason } from "./run.ts";
import { verify } from "./verify.ts";

/**
 * Failback (R19): production, back after a region loss, takes the configuration the failover
 * served meanwhile and becomes production again — the seed's six manual steps as one resumable
 * run, each step checked before the next. Runs on production, as a state machine
 * (functions/failback/definition.ts): Step Functions in the cloud, the same definition locally.
 */
export const FAILBACK_STEPS = [
  /** Production's failover settings off, as they were saved, so it takes sync (R18). */
  "disableProduction",
  /** The failover's settings point at production (automatic sync off, start after sync). */
  "pointFailoverAtProduction",
  /** Full sync failover → production, started on the failover and followed to its end. */
  "fullSyncToProduction",
  /** The failover's failover settings off again. */
  "disableFailover",
  /** Production equals the failover (R21's verify, with production's own settings). */
  "verify",
  /** Production's failover settings as they were before step 1: automatic sync on again. */
  "reenableProduction",
] as const;
export type FailbackStep = (typeof FAILBACK_STEPS)[number];
type StepState = "pending" | "running" | "succeeded" | "failed";

export interface FailbackRun {
  readonly failbackId: string;
  readonly state: "running" | "succeeded" | "failed";
  readonly step: FailbackStep;
  readonly steps: readonly { name: FailbackStep; state: StepState; reason?: string }[];
  readonly startedAt: string;
  readonly finishedAt?: string;
  /** How the failover reaches production, without the password. */
  readonly production: Omit<ProductionAddress, "password">;
  /** Production's failover settings before step 1, restored by step 6. */
  readonly saved: FailoverSettings;
  /** The full sync of step 3, on the failover. */
  readonly syncId?: string;
}

export interface FailbackDeps extends MonitorDeps {
  readonly secrets: SecretStore;
  /** Local mode: production's own address and admin credentials, the default of `production`. */
  readonly ownAddress?: ProductionAddress;
  /** Starts the state machine for a run (absent: 501 from the route). */
  readonly failbackRunner?: RunStarter;
}

const RUN = (id: string) => `failback/run/${id}`;
const LOCK = "failback/lock";
/** The SecretStore name of production's password for the failover (step 2). */
export const PRODUCTION_PASSWORD = "failback-production-password";
/** How long one Task follows the full sync of step 3, and how often it looks. */
const FOLLOW_MS = 60_000;
const FOLLOW_POLL_MS = 500;

/** A step that did not reach its goal: the run stops there and says why. */
export class FailbackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FailbackError";
  }
}

const withoutPassword = ({ password: _password, ...address }: ProductionAddress) => address;
/** A failback's lifecycle (R19): one run at a time, each Task keeps the lock. */
const failbackRun = (ports: RunPorts) =>
  new RunLifecycle(ports, {
    lockName: LOCK,
    lost: (failbackId) => new FailbackError(`failback ${failbackId} no longer holds its lock`),
  });
const get = (deps: FailbackDeps, id: string) => deps.store.getLocal<FailbackRun>(RUN(id));
const put = (deps: FailbackDeps, run: FailbackRun) => deps.store.putLocal(RUN(run.failbackId), run);

/**
 * `POST /api/failover/failback` on production: `{ production? }` starts a run, `{ resume, production? }`
 * continues a failed one from its failed step. 409 while a run is running.
 */
export async function requestFailback(deps: FailbackDeps, body: unknown) {
  const request = parseFailbackRequest(body);
  const production = request.production ?? deps.ownAddress;
  const now = new Date((deps.now ?? Date.now)()).toISOString();
  if (!deps.failbackRunner)
    throw new AppError(501, "not_implemented", "no failback state machine is configured here");
  const lifecycle = failbackRun(deps);
  const running = await lifecycle.holder();
  if (running) throw conflict(`failback ${running} is running; wait for it to end`);

  let run: FailbackRun;
  if ("resume" in request) {
    const previous = await get(deps, request.resume);
    if (!previous) throw notFound(`failback ${request.resume}`);
    // A run recorded running without the lock stopped without ending (its execution timed out
    // or was stopped): it resumes like a failed one.
    if (previous.state === "succeeded")
      throw conflict(`failback ${request.resume} succeeded; only a failed run resumes`);
    const moved = targetChanges(previous.saved, await deps.failoverSettings.get());
    if (moved.length > 0) throw conflict(retargeted(previous, moved));
    // The failed step starts over (step 3: with a new full sync). After a failed verify the
    // copy did not make both sides equal: copy again, from pointing the failover at production.
    const { finishedAt: _end, syncId, ...rest } = previous;
    const verifyFailed = previous.steps.some(
      (step) => step.name === "verify" && step.state === "failed",
    );
    const redoFrom = verifyFailed
      ? FAILBACK_STEPS.indexOf("pointFailoverAtProduction")
      : FAILBACK_STEPS.length;
    const steps = previous.steps.map((step) =>
      step.state === "succeeded" && FAILBACK_STEPS.indexOf(step.name) < redoFrom
        ? step
        : { name: step.name, state: "pending" as const },
    );
    const fullSyncDone = steps.some(
      (step) => step.name === "fullSyncToProduction" && step.state === "succeeded",
    );
    run = {
      ...rest,
      ...(fullSyncDone && syncId ? { syncId } : {}),
      ...(request.production ? { production: withoutPassword(request.production) } : {}),
      state: "running",
      steps,
    };
  } else {
    if (!production) {
      throw invalid(
        "production",
        "is required: how the failover reaches production (host, port, useTls, username, password)",
      );
    }
    const saved = await deps.failoverSettings.get();
    if (!saved.enabled || !(await deps.failoverSettings.peerCredentials(saved))) {
      throw invalid(
        "failover",
        "production's failover settings must point at the failover (enabled, host, username, password)",
      );
    }
    run = {
      failbackId: randomUUID(),
      state: "running",
      step: FAILBACK_STEPS[0],
      steps: FAILBACK_STEPS.map((name) => ({ name, state: "pending" })),
      startedAt: now,
      production: withoutPassword(production),
      saved,
    };
  }
  const taken = await lifecycle.acquire(run.failbackId);
  if (!taken.ok) throw conflict(`failback ${taken.holder} is running; wait for it to end`);
  if (production) await deps.secrets.put(PRODUCTION_PASSWORD, production.password);
  await put(deps, run);
  try {
    await deps.failbackRunner.start(run.failbackId);
  } catch (error) {
    await finish(deps, run.failbackId, error);
    throw error;
  }
  return { failbackId: run.failbackId };
}

/** `GET /api/failover/failbacks/{id}`. */
export async function failbackView(deps: RunPorts, failbackId: string) {
  const run = await deps.store.getLocal<FailbackRun>(RUN(failbackId));
  if (!run) throw notFound(`failback ${failbackId}`);
  const { saved: _saved, ...view } = run;
  // An ended run is still running until it let go of the lock (it announces its end first):
  // what the view calls ended can be resumed or followed by another at once.
  if (run.state !== "running" && (await failbackRun(deps).holder()) === failbackId)
    return { ...view, state: "running" as const };
  return view;
}

/** The Tasks of the failback state machine. */
export function failbackTasks(deps: FailbackDeps) {
  const now = deps.now ?? Date.now;
  const lifecycle = failbackRun(deps);
  async function load(failbackId: string) {
    const run = await get(deps, failbackId);
    if (!run) throw new FailbackError(`failback ${failbackId} has no record`);
    // Each Task keeps the run's lock; a run whose lock lapsed stops.
    await lifecycle.fence(failbackId);
    return run;
  }

  /** The failover's admin API, reached with production's saved failover settings. */
  async function failover(run: FailbackRun): Promise<FullSyncPeer> {
    return deps.peerFor(run.saved, await failoverCredentials(deps, run));
  }

  /** Each step: done, or not yet (call again), with what to record on the run. */
  type Outcome = { done: boolean; record?: Pick<FailbackRun, "syncId"> };
  const done: Outcome = { done: true };
  const steps: Record<FailbackStep, (run: FailbackRun) => Promise<Outcome>> = {
    async disableProduction() {
      const current = await deps.failoverSettings.get();
      if (current.enabled)
        await deps.failoverSettings.put({ ...current, enabled: false, autoSync: false });
      if ((await deps.failoverSettings.get()).enabled)
        throw new FailbackError("production's failover settings are still enabled");
      return done;
    },

    async pointFailoverAtProduction(run) {
      const password = await deps.secrets.get(PRODUCTION_PASSWORD);
      if (!password)
        throw new FailbackError("production's password is not known: resume with `production`");
      const client = await failover(run);
      await client.call("PUT", "/api/failover", {
        enabled: true,
        ...run.production,
        password,
        timeoutMs: run.saved.timeoutMs,
        autoSync: false,
        // Production serves again once it holds the copy (R13).
        startAfterSync: true,
        // The way back: the failover's addresses become production's again (R14).
        ipSubstitutions: run.saved.ipSubstitutions.map(({ ip, substituteIp }) => ({
          ip: substituteIp,
          substituteIp: ip,
        })),
      });
      const test = (await client.call("POST", "/api/failover/test")) as {
        ok: boolean;
        message?: string;
      };
      if (!test.ok) {
        throw new FailbackError(
          `the failover cannot reach production: ${test.message ?? "test connection failed"}`,
        );
      }
      return done;
    },

    async fullSyncToProduction(run) {
      const client = await failover(run);
      if (!run.syncId) {
        const { syncId } = (await client.call("POST", "/api/failover/synchronize")) as {
          syncId: string;
        };
        return { done: false, record: { syncId } };
      }
      // Followed from inside the Task for up to a minute, so that a long copy costs the
      // execution a few history events a minute (Step Functions keeps at most 25,000).
      const until = now() + FOLLOW_MS;
      for (;;) {
        const sync = (await client.call("GET", `/api/failover/syncs/${run.syncId}`)) as {
          state: string;
          reason?: string;
        };
        if (sync.state === "succeeded") return done;
        if (sync.state !== "running") {
          throw new FailbackError(
            `the full sync ${run.syncId} failover → production failed: ${sync.reason ?? sync.state}`,
          );
        }
        if (now() >= until) return { done: false };
        await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
      }
    },

    async disableFailover(run) {
      const client = await failover(run);
      const { passwordSet: _set, ...current } = (await client.call(
        "GET",
        "/api/failover",
      )) as FailoverSettings & { passwordSet: boolean };
      if (current.enabled)
        await client.call("PUT", "/api/failover", { ...current, enabled: false, autoSync: false });
      const after = (await client.call("GET", "/api/failover")) as FailoverSettings;
      if (after.enabled)
        throw new FailbackError("the failover's failover settings are still enabled");
      return done;
    },

    async verify(run) {
      // Verify reads the failover with the stored password: only while it is still the run's.
      await failoverCredentials(deps, run);
      const report = await verify(deps, run.saved);
      if (report.differences > 0) {
        const first = report.domains.flatMap((d) =>
          [...d.missing, ...d.extra, ...d.different.map((x) => x.id)].map(
            (id) => `${d.domain ?? "(server)"} ${id}`,
          ),
        );
        throw new FailbackError(
          `production and the failover differ in ${report.differences} item(s): ${first.slice(0, 5).join(", ")}`,
        );
      }
      return done;
    },

    async reenableProduction(run) {
      await saveFailoverSettings(deps, run.saved);
      if ((await deps.status.state()).state === "suspended") await resumeSync(deps);
      const now = await deps.failoverSettings.get();
      if (now.enabled !== run.saved.enabled || now.autoSync !== run.saved.autoSync)
        throw new FailbackError("production's failover settings were not restored");
      return done;
    },
  };

  return {
    /** The first step not yet done: where a new or resumed run goes. */
    async begin({ failbackId }: { failbackId: string }): Promise<{ next: FailbackStep | "done" }> {
      const run = await load(failbackId);
      return { next: run.steps.find((step) => step.state !== "succeeded")?.name ?? "done" };
    },

    /** Runs one step (again, when it asked to wait); `done: false` means call it again. */
    async step({
      failbackId,
      step,
    }: {
      failbackId: string;
      step: FailbackStep;
    }): Promise<{ done: boolean }> {
      const run = await load(failbackId);
      const outcome = await steps[step](await update(deps, run, step, "running"));
      await update(
        deps,
        { ...run, ...outcome.record },
        step,
        outcome.done ? "succeeded" : "running",
      );
      return { done: outcome.done };
    },

    async finish({ failbackId }: { failbackId: string }) {
      return finish(deps, failbackId);
    },

    async fail({ failbackId, error }: { failbackId: string; error?: TaskError }) {
      return finish(deps, failbackId, error ?? new Error("unknown error"));
    },
  };
}

/**
 * R25: the stored failover password was given for the failover production's settings point at
 * now. The run reaches the failover it began with only while that is still the one; else the
 * password must be given for it again (its settings pointed back at it).
 */
async function failoverCredentials(deps: FailbackDeps, run: FailbackRun): Promise<Credentials> {
  const current = await deps.failoverSettings.get();
  const moved = targetChanges(run.saved, current);
  if (moved.length > 0) throw new FailbackError(retargeted(run, moved));
  const credentials = await deps.failoverSettings.peerCredentials(current);
  if (!credentials) throw new FailbackError("production has no failover password any more");
  return credentials;
}

const retargeted = (run: FailbackRun, moved: readonly string[]) =>
  `production's failover settings no longer point at ${peerName(run.saved)}, the failover failback ${run.failbackId} began with (${moved.join(", ")} changed), so the stored password is not that failover's: point them at it again with its password (PUT /api/failover), then resume`;

/** Records the run at `step`, in `state`. */
async function update(
  deps: FailbackDeps,
  run: FailbackRun,
  step: FailbackStep,
  state: StepState,
): Promise<FailbackRun> {
  const next: FailbackRun = {
    ...run,
    step,
    steps: run.steps.map((s) => (s.name === step ? { name: step, state } : s)),
  };
  await put(deps, next);
  return next;
}

/** Ends a run: succeeded, or failed at its current step with the reason; event, lock released. */
async function finish(deps: FailbackDeps, failbackId: string, error?: unknown) {
  const now = new Date((deps.now ?? Date.now)()).toISOString();
  const run = await get(deps, failbackId);
  if (!run) return undefined;
  const reason = error === undefined ? undefined : reasonOf(error);
  await failbackRun(deps).end(failbackId, async () => {
    const ended: FailbackRun =
      reason === undefined
        ? { ...run, state: "succeeded", finishedAt: now }
        : {
            ...run,
            state: "failed",
            finishedAt: now,
            // A failure between steps (e.g. starting) is the current step's.
            steps: run.steps.map((s) =>
              s.name === run.step ? { name: s.name, state: "failed", reason } : s,
            ),
          };
    await put(deps, ended);
    const detail: SyncEventDetail = {
      Success: reason === undefined,
      Mode: "failback",
      Primary: deps.serverId,
      Failover: peerName(run.saved),
      StartedAt: run.startedAt,
      FinishedAt: now,
      Items: 0,
      ...(reason === undefined
        ? {
            Message: `failback ${failbackId} done: production serves again and syncs to the failover`,
          }
        : { Reason: `${run.step}: ${reason}` }),
    };
    return detail;
  });
  return failbackView(deps, failbackId);
}

const reasonOf = (error: unknown) =>
  error instanceof Error ? error.message : taskReason(error as TaskError);
