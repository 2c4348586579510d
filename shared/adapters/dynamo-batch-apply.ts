import { BatchExecuteStatementCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type ConfigItem, hasRunState } from "../model/items.ts";
import { removedAttributes, storedRecord, versionPredicate } from "./dynamo-records.ts";

/** BatchExecuteStatement's limit. */
const STATEMENTS_PER_REQUEST = 25;
/** A statement's errors that only say its condition does not hold: the next attempt decides. */
const REFUSED = new Set(["ConditionalCheckFailed", "DuplicateItem"]);
/** A statement's errors worth sending again as it is, a few times. */
const RETRYABLE = new Set([
  "ProvisionedThroughputExceeded",
  "RequestLimitExceeded",
  "ThrottlingError",
  "InternalServerError",
  "TransactionConflict",
]);
const RETRIES = 3;
/** How much each item's outcome moves the adaptive guess of how many items are new. */
const LEARNING_RATE = 0.1;

/**
 * One conditional PartiQL statement of a batch: INSERT (the key is new), UPDATE where the
 * stored version is lower (a run-state kind's: where it has a run state, which it keeps), or
 * "revive": UPDATE where the version is lower and no run state is stored (a tombstone's key).
 */
type Attempt = "insert" | "update" | "revive";

/**
 * Which statement a batch tries first for an item that is not a tombstone: INSERT (one
 * statement for a new item, two for an existing or stale one) or UPDATE (one for an existing
 * item, two for a new one, three for a stale one); `adaptive` picks, batch by batch, what
 * suited the items lately. Tombstones always try UPDATE first.
 */
export type FirstTry = "insert" | "update" | "adaptive";

interface Statement {
  readonly Statement: string;
  readonly Parameters: unknown[];
}

/**
 * The version rule for a whole batch with BatchExecuteStatement: each item goes through a short
 * ladder of conditional statements, all items' first attempts side by side (25 per request),
 * then the refused ones' next attempts, until one applies or the ladder ends (stale). No item
 * is read first. The statements' conditions exclude one another, so at most one applies:
 * - INSERT is refused when the key exists; items are never removed for good except by a full
 *   sync's wipe, so after a refused INSERT a refused UPDATE means stale;
 * - UPDATE … WHERE version < ? is refused when the item is missing or stale: an INSERT tells
 *   which, and if that is refused too (created meanwhile), the UPDATE is tried once more;
 * - a run-state kind's UPDATE sets no `running` (the stored run state stays, R2, R13); where
 *   none is stored (over a tombstone) the "revive" UPDATE sets the item's, as INSERT does.
 */
export class DynamoBatchApply {
  /** Moving share of the items that batches found new (1) rather than existing (0). */
  private newShare = 0.5;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly firstTry: FirstTry = "adaptive",
  ) {}

  async apply(items: readonly ConfigItem[]): Promise<boolean[]> {
    const keys = new Set(items.map((item) => `${item.pk}\u0000${item.sk}`));
    if (keys.size !== items.length) throw new Error("applyBatch needs distinct keys");
    const insertFirst =
      this.firstTry === "insert" || (this.firstTry !== "update" && this.newShare >= 0.5);
    const applied = items.map(() => false);
    let pending = items.map((item, index) => ({ item, index, ...ladder(item, insertFirst) }));
    while (pending.length > 0) {
      const outcomes = await this.execute(
        pending.map(({ item, attempt }) => statement(this.tableName, item, attempt)),
      );
      const next: typeof pending = [];
      pending.forEach((entry, position) => {
        const [attempt, ...rest] = entry.rest;
        if (outcomes[position]) {
          applied[entry.index] = true;
          if (!entry.item.deleted) this.learn(entry.attempt === "insert" ? 1 : 0);
        } else if (attempt) next.push({ ...entry, attempt, rest });
      });
      pending = next;
    }
    return applied;
  }

  private learn(isNew: number) {
    this.newShare += LEARNING_RATE * (isNew - this.newShare);
  }

  /** Runs the statements (distinct keys), 25 per request side by side: true where one applied. */
  private async execute(statements: Statement[]): Promise<boolean[]> {
    const chunks: Statement[][] = [];
    for (let start = 0; start < statements.length; start += STATEMENTS_PER_REQUEST)
      chunks.push(statements.slice(start, start + STATEMENTS_PER_REQUEST));
    return (await Promise.all(chunks.map((chunk) => this.executeChunk(chunk)))).flat();
  }

  private async executeChunk(statements: Statement[]): Promise<boolean[]> {
    const outcomes: boolean[] = statements.map(() => false);
    let todo = statements.map((entry, index) => ({ entry, index }));
    for (let attempt = 1; todo.length > 0; attempt++) {
      const { Responses = [] } = await this.doc.send(
        new BatchExecuteStatementCommand({ Statements: todo.map(({ entry }) => entry) }),
      );
      if (Responses.length !== todo.length)
        throw new Error(`BatchExecuteStatement answered ${Responses.length} of ${todo.length}`);
      const again: typeof todo = [];
      todo.forEach((entry, position) => {
        const error = Responses[position]?.Error;
        if (!error) outcomes[entry.index] = true;
        else if (RETRYABLE.has(error.Code ?? "") && attempt < RETRIES) again.push(entry);
        else if (!REFUSED.has(error.Code ?? ""))
          throw new Error(`PartiQL statement failed: ${error.Code}: ${error.Message}`);
      });
      if (again.length > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      todo = again;
    }
    return outcomes;
  }
}

/** The attempts for one item, in order: the first, and those after it. */
function ladder(item: ConfigItem, insertFirst: boolean): { attempt: Attempt; rest: Attempt[] } {
  const updates: Attempt[] = !item.deleted && hasRunState(item.kind) ? ["revive"] : [];
  return insertFirst && !item.deleted
    ? { attempt: "insert", rest: ["update", ...updates] }
    : { attempt: "update", rest: [...updates, "insert", "update", ...updates] };
}

/** Attribute names go into the statement's text: only the table's plain names. */
const plain = (name: string) => {
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name)) throw new Error(`unexpected attribute ${name}`);
  return name;
};

/** One attempt as a PartiQL statement with its parameters. */
function statement(table: string, item: ConfigItem, attempt: Attempt): Statement {
  const record = Object.entries(storedRecord(item)).filter(([, value]) => value !== undefined);
  if (attempt === "insert") {
    const names = record.map(([name]) => `'${plain(name)}': ?`);
    return {
      Statement: `INSERT INTO "${table}" VALUE {${names.join(", ")}}`,
      Parameters: record.map(([, value]) => value),
    };
  }
  // UPDATE never writes `running` of a stored live item; "revive" sets it where none is stored.
  const set = record.filter(
    ([name]) => name !== "pk" && name !== "sk" && (name !== "running" || attempt === "revive"),
  );
  const runState = !item.deleted && hasRunState(item.kind);
  const condition =
    attempt === "revive"
      ? ` AND "running" IS MISSING`
      : runState
        ? ` AND "running" IS NOT MISSING`
        : "";
  const newer = versionPredicate(item.version);
  return {
    Statement:
      `UPDATE "${table}"${set.map(([name]) => ` SET "${plain(name)}" = ?`).join("")}` +
      `${removedAttributes(item)
        .map((name) => ` REMOVE "${name}"`)
        .join("")}` +
      ` WHERE "pk" = ? AND "sk" = ? AND ${newer.text}${condition}`,
    Parameters: [...set.map(([, value]) => value), item.pk, item.sk, newer.parameter],
  };
}
