// Test fake for `fastly:config-store`: stores are plain maps a test installs with setConfigStore.

const stores = new Map<string, ReadonlyMap<string, string>>();

/** Installs (or, with undefined, removes) a store; the constructor throws for a store that does not exist. */
export function setConfigStore(name: string, values: Record<string, string> | undefined): void {
  if (values === undefined) stores.delete(name);
  else stores.set(name, new Map(Object.entries(values)));
}

export function resetConfigStores(): void {
  stores.clear();
}

export class ConfigStore {
  readonly #values: ReadonlyMap<string, string>;

  constructor(name: string) {
    const values = stores.get(name);
    if (values === undefined) throw new TypeError(`ConfigStore constructor: No ConfigStore named '${name}' exists`);
    this.#values = values;
  }

  get(key: string): string | null {
    if (key.length < 1 || key.length > 255) throw new TypeError('ConfigStore key must be 1-255 characters');
    return this.#values.get(key) ?? null;
  }
}
