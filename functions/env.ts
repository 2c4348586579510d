import { z } from "zod";

/** Reads and validates a Lambda's environment once, failing at cold start with the missing name. */
export function readEnv<T extends z.ZodRawShape>(shape: T): z.infer<z.ZodObject<T>> {
  const parsed = z.object(shape).safeParse(process.env);
  if (!parsed.success) {
    const names = parsed.error.issues.map((issue) => issue.path.join(".")).join(", ");
    throw new Error(`missing or invalid environment variables: ${names}`);
  }
  return parsed.data;
}
