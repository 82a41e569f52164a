/**
 * Builds a function's dependencies on first use and keeps them for the container's life. A
 * build that throws (a missing setting) is not kept: every invocation fails the same way,
 * naming the variable, until the configuration is fixed.
 */
export function lazy<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => {
    built ??= { value: build() };
    return built.value;
  };
}
