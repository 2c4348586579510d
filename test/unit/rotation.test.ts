import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { SecretsManagerAdminAuth } from "../../shared/adapters/secrets-manager-admin-auth.ts";
import {
  SECRET_CACHE_MS,
  SECRET_REFRESH_MIN_MS,
  SecretsManagerSecretStore,
} from "../../shared/adapters/secrets-manager-secret-store.ts";
import { FailoverSettingsService } from "../../shared/config/failover-settings.ts";
import { domainKey } from "../../shared/model/items.ts";
import type { ChangeQueue, Credentials, PeerClient, SecretStore } from "../../shared/ports.ts";
import { forwardBatch } from "../../shared/sync/forward.ts";
import { PeerError } from "../../shared/sync/peer.ts";
import { SyncStatusStore } from "../../shared/sync/status.ts";
import { MemoryStore } from "../support/memory-store.ts";

const sm = mockClient(SecretsManagerClient);
const notFound = () => new ResourceNotFoundException({ message: "no AWSPENDING", $metadata: {} });
const admin = (password: string) => ({ username: "admin", password });
const secret = (password: string) => ({ SecretString: JSON.stringify(admin(password)) });

/** Serves the admin secret's AWSCURRENT (and AWSPENDING, when set) like Secrets Manager. */
function serve(current: string, pending?: string) {
  sm.on(GetSecretValueCommand).callsFake(({ VersionStage }) => {
    if (VersionStage === "AWSPENDING") {
      if (pending === undefined) throw notFound();
      return secret(pending);
    }
    return secret(current);
  });
}
const reads = () =>
  sm
    .commandCalls(GetSecretValueCommand)
    .filter((call) => call.args[0].input.VersionStage !== "AWSPENDING").length;

beforeEach(() => sm.reset());

describe("admin secret rotation (R25, issue: Hardening)", () => {
  it("lets a new password in at once and keeps the old one no longer than the cache time", async () => {
    let now = 0;
    const auth = new SecretsManagerAdminAuth(new SecretsManagerClient({}), "admin", () => now);
    serve("old-Passw0rd");
    expect(await auth.accepts(admin("old-Passw0rd"))).toBe(true);

    serve("new-Passw0rd"); // rotated elsewhere
    now = SECRET_REFRESH_MIN_MS;
    // Refused by the cached value, so read again: the new password works at once.
    expect(await auth.accepts(admin("new-Passw0rd"))).toBe(true);
    expect(await auth.accepts(admin("old-Passw0rd"))).toBe(false);
  });

  it("stops accepting the old password within SECRET_CACHE_MS even if nobody uses the new one", async () => {
    let now = 0;
    const auth = new SecretsManagerAdminAuth(new SecretsManagerClient({}), "admin", () => now);
    serve("old-Passw0rd");
    expect(await auth.accepts(admin("old-Passw0rd"))).toBe(true);
    serve("new-Passw0rd");
    now = SECRET_CACHE_MS - 1;
    expect(await auth.accepts(admin("old-Passw0rd"))).toBe(true); // still cached
    now = SECRET_CACHE_MS;
    expect(await auth.accepts(admin("old-Passw0rd"))).toBe(false);
  });

  it("reads again on a refused password at most every SECRET_REFRESH_MIN_MS (a guessing flood costs no reads)", async () => {
    let now = 0;
    const auth = new SecretsManagerAdminAuth(new SecretsManagerClient({}), "admin", () => now);
    serve("the-Passw0rd");
    await auth.accepts(admin("the-Passw0rd"));
    now = SECRET_REFRESH_MIN_MS;
    await Promise.all(Array.from({ length: 50 }, () => auth.accepts(admin("guess"))));
    expect(reads()).toBe(2);
    now += SECRET_REFRESH_MIN_MS - 1;
    expect(await auth.accepts(admin("guess"))).toBe(false);
    expect(reads()).toBe(2);
  });

  it("accepts both the current and the pending version while a rotation is under way", async () => {
    const auth = new SecretsManagerAdminAuth(new SecretsManagerClient({}), "admin", () => 0);
    serve("current-Passw0rd", "pending-Passw0rd");
    expect(await auth.accepts(admin("current-Passw0rd"))).toBe(true);
    expect(await auth.accepts(admin("pending-Passw0rd"))).toBe(true);
    expect(await auth.accepts(admin("other-Passw0rd"))).toBe(false);
  });

  it("refuses to decide (throws) when the secret cannot be read, and tries again next time", async () => {
    const auth = new SecretsManagerAdminAuth(new SecretsManagerClient({}), "admin", () => 0);
    sm.on(GetSecretValueCommand).rejects(new Error("AccessDenied"));
    await expect(auth.accepts(admin("x"))).rejects.toThrow("AccessDenied");
    serve("the-Passw0rd");
    expect(await auth.accepts(admin("the-Passw0rd"))).toBe(true);
  });
});

describe("failover password cache (SecretsManagerSecretStore)", () => {
  it("caches for SECRET_CACHE_MS, sees its own writes, and refreshes at most every SECRET_REFRESH_MIN_MS", async () => {
    let now = 0;
    const store = new SecretsManagerSecretStore(new SecretsManagerClient({}), "mft/", () => now);
    sm.on(GetSecretValueCommand).resolves({ SecretString: "first" });
    sm.on(PutSecretValueCommand).resolves({});
    expect(await store.get("failover-password")).toBe("first");
    expect(sm.commandCalls(GetSecretValueCommand)[0]?.args[0].input.SecretId).toBe(
      "mft/failover-password",
    );

    await store.put("failover-password", "second");
    expect(await store.get("failover-password")).toBe("second");

    sm.on(GetSecretValueCommand).resolves({ SecretString: "changed-elsewhere" });
    now = SECRET_REFRESH_MIN_MS - 1;
    expect(await store.refresh("failover-password")).toBe("second"); // rate-limited
    now = SECRET_REFRESH_MIN_MS;
    expect(await store.refresh("failover-password")).toBe("changed-elsewhere");
    sm.on(GetSecretValueCommand).resolves({ SecretString: "third" });
    now += SECRET_CACHE_MS - 1;
    expect(await store.get("failover-password")).toBe("changed-elsewhere");
    now += 1;
    expect(await store.get("failover-password")).toBe("third");
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });
});

/** One container's view: `get` keeps what it cached, `refresh` reads what is stored now. */
class StaleSecrets implements SecretStore {
  stored: string | undefined;
  private cached: string | undefined;
  async get() {
    return this.cached;
  }
  async refresh() {
    this.cached = this.stored;
    return this.cached;
  }
  async put(_name: string, value: string) {
    this.cached = value;
    this.stored = value;
  }
}

describe("forward after the failover password changed in another container", () => {
  it("reads the password again when the failover refuses the cached one, and sends with the new one", async () => {
    const store = new MemoryStore();
    const secrets = new StaleSecrets();
    const failoverSettings = new FailoverSettingsService(store, secrets);
    await failoverSettings.put({
      enabled: true,
      host: "failover.example.com",
      username: "admin",
      password: "old-Passw0rd",
      autoSync: true,
    });
    secrets.stored = "new-Passw0rd"; // PUT /api/failover answered by another container

    const used: string[] = [];
    const peer = (_: unknown, credentials: Credentials): PeerClient => ({
      hello: () => Promise.reject(new Error("not used")),
      sendChanges: async (_origin, changes) => {
        used.push(credentials.password);
        if (credentials.password !== "new-Passw0rd") {
          throw new PeerError("auth", "the failover refused the credentials", false);
        }
        return changes.map(() => ({ status: "applied" as const, appliedAt: Date.now() }));
      },
    });
    const status = new SyncStatusStore(store);
    const item = {
      ...domainKey("acme"),
      kind: "domain",
      domain: "acme",
      version: 1,
      updatedAt: 1,
      data: {},
    };
    const outcome = await forwardBatch(
      {
        serverId: "production",
        failoverSettings,
        status,
        store,
        queue: { deadLetter: async () => {}, release: async () => {} } as unknown as ChangeQueue,
        forwarding: { suspend: async () => {}, resume: async () => {} },
        events: { publish: async () => {} },
        metrics: { publish: async () => {} },
        peerFor: peer,
        retry: { attempts: 1, baseDelayMs: 1 },
      },
      [
        {
          body: JSON.stringify({ item }),
          groupId: "acme",
          deduplicationId: "1",
          receiptHandle: "h",
          receiveCount: 1,
        },
      ],
      Date.now() + 10_000,
    );
    expect(outcome).toEqual([true]);
    expect(used).toEqual(["old-Passw0rd", "new-Passw0rd"]);
    expect((await status.state()).state).toBe("active");
  });
});
