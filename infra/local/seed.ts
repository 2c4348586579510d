import { randomBytes } from "node:crypto";
import { domains, groups, services, users, web } from "../../shared/config/entities.ts";
import type { ConfigService } from "../../shared/config/service.ts";

/** A small sample configuration for production (unless MFT_SEED=0), made through the same use cases as the API. */
export async function seedSampleConfiguration(config: ConfigService): Promise<void> {
  await config.put(web, { id: "web" }, { enabled: true, port: 8443 });
  await config.put(domains, { id: "acme" }, { description: "Sample trading partner domain" });
  await config.put(
    groups,
    { domain: "acme", id: "partners" },
    { description: "External partners" },
  );
  await config.put(
    users,
    { domain: "acme", id: "alice" },
    {
      password: randomBytes(12).toString("base64url"),
      email: "alice@example.com",
      homeDirectory: "/data/acme/alice",
      groups: ["partners"],
    },
  );
  await config.put(
    services,
    { domain: "acme", id: "sftp" },
    { protocol: "SFTP", ip: "10.0.0.10", port: 22 },
  );
  await config.setRunning("acme", true);
}
