/**
 * In-process announcements of committed changes (memberships, certificates), shared by the services
 * that offer them. Listeners run after the commit, one at a time, in registration order; a
 * listener's failure neither undoes the change nor stops the other listeners: the failures are
 * rethrown together (AggregateError) once all have run. Delivery is at-most-once: a crash between
 * commit and delivery loses the event, so a listener that must not miss one also reconciles from
 * the stored state (auto-enrollment and directory publishing both do).
 */
export type Listener<T> = (event: T) => void | Promise<void>;

export class Listeners<T> {
  readonly #listeners = new Set<Listener<T>>();
  readonly #what: string;

  /** `what` names the events in the AggregateError's message, e.g. "membership". */
  constructor(what: string) {
    this.#what = what;
  }

  /** Registers a listener; returns a function that unregisters it. */
  add(listener: Listener<T>): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async announce(events: readonly T[]): Promise<void> {
    const failures: unknown[] = [];
    for (const event of events) {
      for (const listener of [...this.#listeners]) {
        try {
          await listener(event);
        } catch (e) {
          failures.push(e);
        }
      }
    }
    if (failures.length > 0) {
      throw new AggregateError(
        failures,
        `${failures.length} ${this.#what} listener(s) failed; the change itself is saved.`,
      );
    }
  }
}
