import type { ZodError, z } from "zod";

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

/** Every zod issue as `field: message`, the field written as a path (`groups[0]`), `; ` between. */
export function fromZodError(error: ZodError): AppError {
  if (error.issues.length === 0) return invalid("body", "invalid");
  const described = error.issues.map((issue) => {
    const path = issue.path.reduce<string>(
      (acc, part) =>
        typeof part === "number"
          ? `${acc}[${part}]`
          : acc
            ? `${acc}.${String(part)}`
            : String(part),
      "",
    );
    if (issue.code === "unrecognized_keys") {
      const prefix = path ? `${path}.` : "";
      return `${issue.keys.map((key) => `${prefix}${key}`).join(", ")}: unknown field`;
    }
    return `${path || "body"}: ${issue.message}`;
  });
  return new AppError(400, "invalid_request", described.join("; "));
}

const typeWords: Record<string, string> = {
  boolean: "must be true or false",
  string: "must be text",
  number: "must be a number",
  int: "must be a whole number",
  array: "must be a list",
  object: "must be an object",
};

const sizeWords = (origin: string, bound: number | bigint, side: "least" | "most") => {
  if (origin === "string") return `must be at ${side} ${bound} characters long`;
  if (origin === "array" || origin === "set") return `must have at ${side} ${bound} items`;
  return `must be at ${side} ${bound}`;
};

/**
 * Validation messages in words (`is required`, `must be true or false`) instead of zod's
 * (`Invalid input: expected string, received undefined`); a schema's own message still wins.
 * Installed once for every schema (shared/model/schemas.ts).
 */
export const plainWords: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case "invalid_type":
      return issue.input === undefined ? "is required" : typeWords[issue.expected];
    case "too_small":
      if (issue.origin === "string" && Number(issue.minimum) === 1) return "must not be empty";
      return issue.inclusive === false
        ? `must be more than ${issue.minimum}`
        : sizeWords(issue.origin, issue.minimum, "least");
    case "too_big":
      return issue.inclusive === false
        ? `must be less than ${issue.maximum}`
        : sizeWords(issue.origin, issue.maximum, "most");
    case "invalid_format":
      return issue.format === "email" ? "must be an email address" : undefined;
    case "invalid_value":
      return `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(", ")}`;
    default:
      return undefined;
  }
};
