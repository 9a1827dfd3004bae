// Test fake for `fastly:backend`: the service's backends and their health, as a test declares them.

export type FakeHealth = 'healthy' | 'unhealthy' | 'unknown';

const backends = new Map<string, FakeHealth>();
let broken: Error | undefined;

/** Declares the service's backends; any other name does not exist. */
export function setBackends(health: Record<string, FakeHealth>): void {
  backends.clear();
  for (const [name, state] of Object.entries(health)) backends.set(name, state);
}

/** Makes every Backend call throw, as a host without the backend hostcalls would. */
export function breakBackendApi(error: Error | undefined): void {
  broken = error;
}

export function resetBackends(): void {
  backends.clear();
  broken = undefined;
}

export class Backend {
  readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }

  static exists(name: string): boolean {
    if (broken) throw broken;
    return backends.has(name);
  }

  static fromName(name: string): Backend {
    if (broken) throw broken;
    if (!backends.has(name)) throw new Error(`Backend.fromName: backend named '${name}' does not exist`);
    return new Backend(name);
  }

  health(): FakeHealth {
    if (broken) throw broken;
    return backends.get(this.name) ?? 'unknown';
  }
}
