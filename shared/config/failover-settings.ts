import { fromZodError, invalid } from "../errors.ts";
import { type FailoverSettings, failoverSettingsInput } from "../model/schemas.ts";
import type { ConfigStore, Credentials, SecretStore } from "../ports.ts";

const SETTINGS = "failover/settings";
const PASSWORD = "failover-password";

export const defaultFailoverSettings: FailoverSettings = failoverSettingsInput.parse({});

type Target = Pick<FailoverSettings, "host" | "port" | "useTls" | "username">;

/** R25: what the stored password was given for; `to` differs from `from` in these fields. */
export const targetChanges = (from: Target, to: Target) =>
  (["host", "port", "useTls", "username"] as const).filter((field) => from[field] !== to[field]);

/** Settings > Failover (R5): local to this server (R3), the password write-only (R4). */
export class FailoverSettingsService {
  constructor(
    private readonly store: ConfigStore,
    private readonly secrets: SecretStore,
  ) {}

  async get(): Promise<FailoverSettings> {
    return (await this.store.getLocal<FailoverSettings>(SETTINGS)) ?? defaultFailoverSettings;
  }

  /** What the API shows: the settings and whether a password is set, never the password. */
  async view() {
    const [settings, password] = await Promise.all([this.get(), this.secrets.get(PASSWORD)]);
    return { ...settings, passwordSet: password !== undefined };
  }

  /**
   * Full replacement, validated whole (and by `check`, e.g. the R18 loop check) before anything
   * is written; a missing password keeps the stored one.
   */
  async put(
    body: unknown,
    check?: (settings: FailoverSettings, credentials: Credentials | undefined) => Promise<void>,
  ) {
    const parsed = failoverSettingsInput.safeParse(body ?? {});
    if (!parsed.success) throw fromZodError(parsed.error);
    const { password, ...settings } = parsed.data;
    // R25: the stored password goes only where it was given for; a new target needs it again,
    // before anything (the loop check, test connection) could send it there. No host: no target.
    if (password === undefined && settings.host !== undefined) {
      const moved = targetChanges(await this.get(), settings);
      if (moved.length > 0 && (await this.secrets.get(PASSWORD)) !== undefined) {
        throw invalid(
          "password",
          `is required again when ${moved.join(", ")} change${moved.length === 1 ? "s" : ""}`,
        );
      }
    }
    if (settings.enabled) {
      if (settings.host === undefined) throw invalid("host", "is required when enabled is true");
      if (settings.username === undefined)
        throw invalid("username", "is required when enabled is true");
      if (password === undefined && (await this.secrets.get(PASSWORD)) === undefined) {
        throw invalid("password", "is required when enabled is true");
      }
    }
    if (check) {
      const effective = password ?? (await this.secrets.get(PASSWORD));
      const { username } = settings;
      await check(
        settings,
        username !== undefined && effective !== undefined
          ? { username, password: effective }
          : undefined,
      );
    }
    if (password !== undefined) await this.secrets.put(PASSWORD, password);
    await this.store.putLocal(SETTINGS, settings);
    return this.view();
  }

  /**
   * The credentials for the failover's admin API, for the sync functions. Pass the settings
   * already read to save reading them again; `refresh` after the failover refused the cached
   * password, which may have been changed since (in another container).
   */
  async peerCredentials(
    known?: FailoverSettings,
    refresh = false,
  ): Promise<Credentials | undefined> {
    const [settings, password] = await Promise.all([
      known ?? this.get(),
      refresh ? this.secrets.refresh(PASSWORD) : this.secrets.get(PASSWORD),
    ]);
    return settings.username !== undefined && password !== undefined
      ? { username: settings.username, password }
      : undefined;
  }
}
