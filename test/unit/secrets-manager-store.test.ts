import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { SecretsManagerSecretStore } from "../../shared/adapters/secrets-manager-secret-store.ts";

describe("SecretsManagerSecretStore (R4)", () => {
  it("reads a secret once per container, sees its own writes, and re-reads after the cache time", async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand).resolves({ SecretString: "first" });
    sm.on(PutSecretValueCommand).resolves({});
    let now = 0;
    const store = new SecretsManagerSecretStore(new SecretsManagerClient({}), "mft/", () => now);

    expect(await store.get("failover-password")).toBe("first");
    expect(await store.get("failover-password")).toBe("first");
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(sm.commandCalls(GetSecretValueCommand)[0]?.args[0].input.SecretId).toBe(
      "mft/failover-password",
    );

    await store.put("failover-password", "second");
    expect(await store.get("failover-password")).toBe("second");
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);

    now = 6 * 60_000;
    sm.on(GetSecretValueCommand).resolves({ SecretString: "rotated" });
    expect(await store.get("failover-password")).toBe("rotated");
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });
});
