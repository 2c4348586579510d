/**
 * Polls `condition` every 25 ms until it returns something truthy, and returns that. Throws after
 * `timeoutMs`, naming the condition (and its last error, if it kept throwing).
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  timeoutMs = 4_000,
  description = condition.toString(),
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
