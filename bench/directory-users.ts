/**
 * The directory benchmark's users, by number: the same names for the SQL seed, the LDIF slapd
 * loads, the certificates and the load generator's filters.
 */

const GIVEN = ['Ada', 'Alan', 'Barbara', 'Claude', 'Dorothy', 'Edsger', 'Frances', 'Grace', 'Hedy', 'Ivan'];
const FAMILY = [
  'Lovelace',
  'Turing',
  'Liskov',
  'Shannon',
  'Vaughan',
  'Dijkstra',
  'Allen',
  'Hopper',
  'Lamarr',
  'Sutherland',
];

/** The base DN both directories hold the people under. */
export const PEOPLE_DN = 'ou=people,dc=example,dc=org';

export interface BenchUser {
  readonly email: string;
  readonly givenName: string;
  readonly surname: string;
  /** cn and displayName. */
  readonly displayName: string;
  readonly uid: string;
}

export const emailOf = (i: number): string => `user${i}@example.org`;

export function userOf(i: number): BenchUser {
  const givenName = GIVEN[i % GIVEN.length]!;
  const surname = FAMILY[Math.floor(i / GIVEN.length) % FAMILY.length]!;
  return { email: emailOf(i), givenName, surname, displayName: `${givenName} ${surname} ${i}`, uid: `user${i}` };
}
