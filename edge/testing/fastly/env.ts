// Test fake for `fastly:env`: the environment a test sets (FASTLY_POP, ...).

const variables = new Map<string, string>();

export function setEnv(values: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) variables.delete(name);
    else variables.set(name, value);
  }
}

export function resetEnv(): void {
  variables.clear();
}

export function env(name: string): string | undefined {
  return variables.get(name);
}
