import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { z } from "zod";
import { type AdminAuth, matchesAny } from "../auth/admin.ts";
import type { Credentials } from "../ports.ts";
import { SECRET_CACHE_MS, SECRET_REFRESH_MIN_MS } from "./secrets-manager-secret-store.ts";

const adminSecret = z.object({ username: z.string().min(1), password: z.string().min(1) });

interface Read {
  readonly accepted: readonly Credentials[];
  readonly at: number;
}

/**
 * The cloud's admin check: the admin secret's AWSCURRENT version, and its AWSPENDING version
 * while a Secrets Manager rotation is under way (so both sides of a rotation are let in until
 * it finishes). Cached for SECRET_CACHE_MS; a password that matches neither makes one
 * fresh read (rate-limited), so a new password works at once.
 */
export class SecretsManagerAdminAuth implements AdminAuth {
  private last: Read | undefined;
  private reading: Promise<Read> | undefined;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
    private readonly now: () => number = Date.now,
  ) {}

  async accepts(given: Credentials): Promise<boolean> {
    if (matchesAny(given, (await this.read(SECRET_CACHE_MS)).accepted)) return true;
    return matchesAny(given, (await this.read(SECRET_REFRESH_MIN_MS)).accepted);
  }

  /** The last read if younger than `maxAgeMs`, else a new one, shared by concurrent callers. */
  private async read(maxAgeMs: number): Promise<Read> {
    if (this.last && this.now() - this.last.at < maxAgeMs) return this.last;
    this.reading ??= this.readSecret()
      .then((read) => {
        this.last = read;
        return read;
      })
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }

  private async readSecret(): Promise<Read> {
    const at = this.now();
    const [current, pending] = await Promise.all([
      this.version("AWSCURRENT"),
      this.version("AWSPENDING").catch((error: unknown) => {
        if (error instanceof ResourceNotFoundException) return undefined; // no rotation under way
        throw error;
      }),
    ]);
    if (!current) throw new Error("the admin secret's current value is not {username, password}");
    return { accepted: pending ? [current, pending] : [current], at };
  }

  private async version(stage: "AWSCURRENT" | "AWSPENDING") {
    const { SecretString } = await this.client.send(
      new GetSecretValueCommand({ SecretId: this.secretId, VersionStage: stage }),
    );
    let value: unknown;
    try {
      value = JSON.parse(SecretString ?? "");
    } catch {
      return undefined;
    }
    const parsed = adminSecret.safeParse(value);
    return parsed.success ? parsed.data : undefined;
  }
}
