// Event listeners of a subscription. A listener that throws does not break the client: its error is
// reported on its own (as an uncaught error), like an EventTarget does.

export type Unlisten = () => void;

export class Listeners<Events extends object> {
  private readonly map = new Map<keyof Events, Array<(payload: never) => void>>();

  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): Unlisten {
    const list = this.map.get(event) ?? [];
    list.push(listener as (payload: never) => void);
    this.map.set(event, list);
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): void {
    const list = this.map.get(event);
    const i = list?.indexOf(listener as (payload: never) => void) ?? -1;
    if (i >= 0) list!.splice(i, 1);
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const list = this.map.get(event);
    if (!list) return;
    for (const listener of list.length === 1 ? list : [...list]) {
      try {
        (listener as (payload: Events[K]) => void)(payload);
      } catch (error) {
        setTimeout(() => {
          throw error;
        });
      }
    }
  }
}
