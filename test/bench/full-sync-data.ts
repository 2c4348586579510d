import { type ConfigItem, childKey, domainKey } from "../../shared/model/items.ts";
import { hashPassword } from "../../shared/model/password.ts";

/**
 * A large configuration made without the API (which hashes each password, ~50 ms apiece):
 * `users` users spread over `domains` domains, each domain with 2 groups and 3 services. Items
 * come out in batches so memory stays flat whatever the size; every user shares ONE
 * precomputed scrypt hash.
 */
export async function* generatedConfiguration(options: {
  readonly domains: number;
  readonly users: number;
  readonly origin: string;
  readonly prefix?: string;
  readonly batch?: number;
}): AsyncGenerator<ConfigItem[]> {
  const passwordHash = await hashPassword("bench-password-1");
  const prefix = options.prefix ?? "bench";
  const batchSize = options.batch ?? 500;
  let version = Date.now() * 1000;
  const stamp = () => ({ version: ++version, origin: options.origin, updatedAt: Date.now() });
  let batch: ConfigItem[] = [];
  const perDomain = Math.ceil(options.users / options.domains);
  let usersLeft = options.users;
  for (let d = 0; d < options.domains; d++) {
    const domain = `${prefix}-${String(d).padStart(4, "0")}`;
    batch.push({
      ...domainKey(domain),
      kind: "domain",
      id: domain,
      ...stamp(),
      data: { description: `domain ${d}`, limits: {} },
      running: d % 2 === 0,
    });
    for (const [index, group] of ["ops", "partners"].entries()) {
      batch.push({
        ...childKey(domain, "group", group),
        kind: "group",
        id: group,
        domain,
        ...stamp(),
        data: { description: `group ${index}` },
      });
    }
    const protocols = ["SFTP", "FTPS", "HTTPS"] as const;
    protocols.forEach((protocol, index) => {
      const id = protocol.toLowerCase();
      batch.push({
        ...childKey(domain, "service", id),
        kind: "service",
        id,
        domain,
        ...stamp(),
        data: {
          protocol,
          ip: index === 0 ? "10.0.0.10" : `10.0.${d % 250}.${index}`,
          port: 2200 + index,
        },
      });
    });
    for (let u = 0; u < perDomain && usersLeft > 0; u++, usersLeft--) {
      const username = `user${String(u).padStart(6, "0")}`;
      batch.push({
        ...childKey(domain, "user", username),
        kind: "user",
        id: username,
        domain,
        ...stamp(),
        data: {
          email: `${username}@example.com`,
          homeDirectory: `/data/${domain}/${username}`,
          enabled: true,
          groups: u % 3 === 0 ? ["ops"] : ["partners"],
          passwordHash,
        },
      });
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield batch;
}
