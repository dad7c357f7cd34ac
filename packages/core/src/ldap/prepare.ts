/**
 * String preparation for caseIgnoreMatch (RFC 4518), as DN comparison and the directory's search
 * keys use it: two values match when their prepared forms are equal strings.
 */

/**
 * NFKC and case folding (§2.3, §2.4 as lowercasing), white space (JavaScript's `\s`: tabs, line
 * breaks, the Unicode space separators) mapped to SPACE as §2.2 does, then insignificant spaces
 * removed (§2.6.1): none at either end, each run inside folded to one.
 */
export function prepareCaseIgnore(value: string): string {
  // NFKC again after lowercasing: a lowered character can leave combining marks out of canonical order.
  return value.normalize('NFKC').toLowerCase().normalize('NFKC').replace(/\s+/g, ' ').trim();
}
