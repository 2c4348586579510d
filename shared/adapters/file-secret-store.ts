import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { SecretStore } from "../ports.ts";

/** Local mode's SecretStore: one JSON file, mode 0600, under the data dir (R4). */
export class FileSecretStore implements SecretStore {
  private readonly file: string;

  constructor(private readonly dir: string) {
    this.file = join(dir, "secrets.json");
  }

  async get(name: string): Promise<string | undefined> {
    return (await this.readAll())[name];
  }

  /** The file is read on every call: nothing is cached. */
  refresh(name: string): Promise<string | undefined> {
    return this.get(name);
  }

  async put(name: string, value: string): Promise<void> {
    const secrets = { ...(await this.readAll()), [name]: value };
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // Write then rename, so a crash never leaves a half-written file.
    const temporary = `${this.file}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(secrets), { mode: 0o600 });
    await rename(temporary, this.file);
  }

  private async readAll(): Promise<Record<string, string>> {
    try {
      return JSON.parse(await readFile(this.file, "utf8")) as Record<string, string>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw error;
    }
  }
}
