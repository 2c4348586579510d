import type { ZodError } from "zod";

/** An error the API shows to its caller: status, a stable code and a message without internals. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "AppError";
  }
}

export const invalid = (field: string, message: string) =>
  new AppError(400, "invalid_request", `${field}: ${message}`);
export const notFound = (what: string) => new AppError(404, "not_found", `${what} not found`);
export const conflict = (message: string) => new AppError(409, "conflict", message);
export const unauthorized = () =>
  new AppError(401, "unauthorized", "valid Basic credentials are required");

/** The first zod issue as `field: message`, the field written as a path (`groups[0]`). */
export function fromZodError(error: ZodError): AppError {
  const issue = error.issues[0];
  if (!issue) return invalid("body", "invalid");
  const path = issue.path.reduce<string>(
    (acc, part) =>
      typeof part === "number" ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part),
    "",
  );
  if (issue.code === "unrecognized_keys") {
    const prefix = path ? `${path}.` : "";
    return invalid(`${prefix}${issue.keys[0] ?? ""}`, "unknown field");
  }
  return invalid(path || "body", issue.message);
}
