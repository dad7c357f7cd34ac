/** The source of the current time; services never read the ambient clock, so tests can pin it. */
export interface Clock {
  now(): Date;
}

/** The real wall clock. */
export const systemClock: Clock = { now: () => new Date() };
