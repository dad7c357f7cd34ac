/**
 * Certificate policies (RFC 5280 §4.2.1.4, §4.2.1.5, §4.2.1.11, §4.2.1.14) and the valid_policy_tree
 * of path validation (§6.1.2 (a), §6.1.3 (d)-(f), §6.1.4 (a)-(b), §6.1.5 (g)).
 *
 * Policy qualifiers are not kept: Sealpost reports policy OIDs only, and §4.2.1.4 lets it ignore them.
 */
import { decode, readOid } from '../asn1/der.ts';
import { OID } from '../asn1/oids.ts';
import { fail } from '../errors.ts';

/**
 *   certificatePolicies ::= SEQUENCE SIZE (1..MAX) OF PolicyInformation
 *   PolicyInformation ::= SEQUENCE {
 *     policyIdentifier   CertPolicyId,
 *     policyQualifiers   SEQUENCE SIZE (1..MAX) OF PolicyQualifierInfo OPTIONAL }
 * A policy OID may appear only once (§4.2.1.4).
 */
export function parseCertificatePolicies(value: Uint8Array): string[] {
  const el = decode(value);
  if (!el.is(0x30) || el.children.length === 0)
    fail('CERT_MALFORMED', 'certificatePolicies must be a non-empty SEQUENCE');
  const out: string[] = [];
  for (const info of el.children) {
    if (!info.is(0x30) || info.children.length < 1 || info.children.length > 2) {
      fail('CERT_MALFORMED', 'malformed PolicyInformation');
    }
    const q = info.children[1];
    if (q !== undefined && (!q.is(0x30) || q.children.length === 0))
      fail('CERT_MALFORMED', 'malformed policyQualifiers');
    const oid = readOid(info.child(0));
    if (out.includes(oid)) fail('CERT_MALFORMED', `policy ${oid} appears twice in certificatePolicies`);
    out.push(oid);
  }
  return out;
}

export interface PolicyMapping {
  issuerDomainPolicy: string;
  subjectDomainPolicy: string;
}

/**
 *   PolicyMappings ::= SEQUENCE SIZE (1..MAX) OF SEQUENCE {
 *     issuerDomainPolicy   CertPolicyId,
 *     subjectDomainPolicy  CertPolicyId }
 */
export function parsePolicyMappings(value: Uint8Array): PolicyMapping[] {
  const el = decode(value);
  if (!el.is(0x30) || el.children.length === 0) fail('CERT_MALFORMED', 'policyMappings must be a non-empty SEQUENCE');
  return el.children.map((m) => {
    if (!m.is(0x30) || m.children.length !== 2) fail('CERT_MALFORMED', 'malformed policy mapping');
    return { issuerDomainPolicy: readOid(m.child(0)), subjectDomainPolicy: readOid(m.child(1)) };
  });
}

export interface PolicyConstraints {
  requireExplicitPolicy?: number;
  inhibitPolicyMapping?: number;
}

/** Skip counts beyond any possible path length mean the same as this. */
const MAX_SKIP = 1024;

/**
 *   PolicyConstraints ::= SEQUENCE {
 *     requireExplicitPolicy  [0] SkipCerts OPTIONAL,
 *     inhibitPolicyMapping   [1] SkipCerts OPTIONAL }
 *   SkipCerts ::= INTEGER (0..MAX)
 */
export function parsePolicyConstraints(value: Uint8Array): PolicyConstraints {
  const el = decode(value);
  if (!el.is(0x30) || el.children.length === 0)
    fail('CERT_MALFORMED', 'policyConstraints must be a non-empty SEQUENCE');
  const out: PolicyConstraints = {};
  for (const c of el.children) {
    if (c.constructed || c.cls !== 2 || c.tagNumber > 1) fail('CERT_MALFORMED', 'malformed policyConstraints');
    const n = skipCerts(c.value);
    if (c.tagNumber === 0) out.requireExplicitPolicy = n;
    else out.inhibitPolicyMapping = n;
  }
  return out;
}

/** InhibitAnyPolicy ::= SkipCerts */
export function parseInhibitAnyPolicy(value: Uint8Array): number {
  const el = decode(value);
  if (!el.is(0x02)) fail('CERT_MALFORMED', 'inhibitAnyPolicy must be an INTEGER');
  return skipCerts(el.value);
}

/** The content of an INTEGER (IMPLICIT-tagged or not) as a non-negative count, capped at MAX_SKIP. */
function skipCerts(content: Uint8Array): number {
  if (content.length === 0 || content[0]! & 0x80) fail('CERT_MALFORMED', 'SkipCerts must be a non-negative INTEGER');
  if (content.length > 1 && content[0] === 0 && !(content[1]! & 0x80)) fail('CERT_MALFORMED', 'non-minimal INTEGER');
  let n = 0;
  for (const b of content) {
    n = n * 256 + b;
    if (n > MAX_SKIP) return MAX_SKIP;
  }
  return n;
}

interface PolicyNode {
  validPolicy: string;
  expected: Set<string>;
  parent: PolicyNode | undefined;
  children: PolicyNode[];
}

/**
 * Bound on the nodes of one tree: crafted mappings can make the tree grow exponentially with depth
 * (the attack behind CVE-2023-0464); real paths need a handful.
 */
export const MAX_POLICY_NODES = 4096;

/**
 * The valid_policy_tree. `levels[d]` holds the nodes of depth d; depth 0 is the anyPolicy root. A tree
 * whose root was pruned away is NULL in the RFC's words: `isNull`.
 */
export class PolicyTree {
  readonly #levels: PolicyNode[][];
  #nodes = 1;

  constructor() {
    this.#levels = [
      [{ validPolicy: OID.anyPolicy, expected: new Set([OID.anyPolicy]), parent: undefined, children: [] }],
    ];
  }

  get isNull(): boolean {
    return this.#levels[0]!.length === 0;
  }

  /** True when the tree outgrew MAX_POLICY_NODES; the caller stops and refuses the path. */
  get tooLarge(): boolean {
    return this.#nodes > MAX_POLICY_NODES;
  }

  #add(parent: PolicyNode, validPolicy: string, expected: Set<string>, depth: number): void {
    const node = { validPolicy, expected, parent, children: [] };
    parent.children.push(node);
    this.#levels[depth]!.push(node);
    this.#nodes++;
  }

  /**
   * §6.1.3 (d) for certificate i with the policies of its certificatePolicies extension; `anyPolicyAllowed`
   * is "inhibit_anyPolicy > 0 or (i < n and the certificate is self-issued)".
   */
  processCertificate(i: number, policies: string[], anyPolicyAllowed: boolean): void {
    const above = this.#levels[i - 1] ?? [];
    this.#levels[i] = [];
    for (const p of policies) {
      if (p === OID.anyPolicy) continue;
      const matches = above.filter((n) => n.expected.has(p));
      if (matches.length > 0) for (const parent of matches) this.#add(parent, p, new Set([p]), i);
      else {
        const any = above.find((n) => n.validPolicy === OID.anyPolicy);
        if (any) this.#add(any, p, new Set([p]), i);
      }
      if (this.tooLarge) return;
    }
    if (policies.includes(OID.anyPolicy) && anyPolicyAllowed) {
      for (const parent of above) {
        for (const e of parent.expected) {
          if (!parent.children.some((c) => c.validPolicy === e)) this.#add(parent, e, new Set([e]), i);
          if (this.tooLarge) return;
        }
      }
    }
    this.#prune(i);
  }

  /** §6.1.4 (b): apply a policyMappings extension at depth i (`allowed` is policy_mapping > 0). */
  applyMappings(i: number, mappings: PolicyMapping[], allowed: boolean): void {
    const level = this.#levels[i] ?? [];
    const byIssuer = new Map<string, Set<string>>();
    for (const m of mappings) {
      const set = byIssuer.get(m.issuerDomainPolicy) ?? new Set<string>();
      set.add(m.subjectDomainPolicy);
      byIssuer.set(m.issuerDomainPolicy, set);
    }
    if (!allowed) {
      this.#levels[i] = level.filter((n) => !byIssuer.has(n.validPolicy));
      for (const n of level) {
        if (byIssuer.has(n.validPolicy)) n.parent!.children = n.parent!.children.filter((c) => c !== n);
      }
      this.#prune(i);
      return;
    }
    const any = level.find((n) => n.validPolicy === OID.anyPolicy);
    for (const [idp, subjects] of byIssuer) {
      const nodes = level.filter((n) => n.validPolicy === idp);
      for (const n of nodes) n.expected = new Set(subjects);
      if (nodes.length === 0 && any) this.#add(any.parent!, idp, new Set(subjects), i);
      if (this.tooLarge) return;
    }
  }

  /** Deletes nodes above depth `depth` that have no children, bottom-up (§6.1.3 (d)(3)). */
  #prune(depth: number): void {
    for (let d = depth - 1; d >= 0; d--) {
      const level = this.#levels[d]!;
      const kept = level.filter((n) => n.children.length > 0);
      if (kept.length === level.length) continue;
      for (const n of level) {
        if (n.children.length === 0 && n.parent) n.parent.children = n.parent.children.filter((c) => c !== n);
      }
      this.#levels[d] = kept;
    }
  }

  #deleteSubtree(node: PolicyNode, depth: number): void {
    if (node.parent) node.parent.children = node.parent.children.filter((c) => c !== node);
    const gone = new Set<PolicyNode>([node]);
    for (let d = depth; d < this.#levels.length; d++) {
      const level = this.#levels[d]!;
      this.#levels[d] = level.filter((n) => {
        const drop = gone.has(n) || (n.parent !== undefined && gone.has(n.parent));
        if (drop) gone.add(n);
        return !drop;
      });
    }
  }

  /** §6.1.5 (g)(iii): the intersection of the tree (of depth n) with the user-initial-policy-set. */
  intersect(n: number, userPolicies: ReadonlySet<string>): void {
    const validPolicyNodeSet: { node: PolicyNode; depth: number }[] = [];
    for (let d = 1; d <= n; d++) {
      for (const node of this.#levels[d] ?? []) {
        if (node.parent?.validPolicy === OID.anyPolicy) validPolicyNodeSet.push({ node, depth: d });
      }
    }
    for (const { node, depth } of validPolicyNodeSet) {
      if (node.validPolicy !== OID.anyPolicy && !userPolicies.has(node.validPolicy)) this.#deleteSubtree(node, depth);
    }
    const anyLeaf = (this.#levels[n] ?? []).find((x) => x.validPolicy === OID.anyPolicy);
    if (anyLeaf) {
      const present = new Set(validPolicyNodeSet.map((x) => x.node.validPolicy));
      for (const p of userPolicies) {
        if (!present.has(p)) this.#add(anyLeaf.parent!, p, new Set([p]), n);
      }
      this.#deleteSubtree(anyLeaf, n);
    }
    this.#prune(n);
  }

  /**
   * The policies the path is valid for, in the trust anchor's domain (as the user-initial-policy-set
   * is): for each node of depth n, the valid_policy of its topmost ancestor below anyPolicy nodes, so
   * a mapped policy is reported as the issuer-domain policy it came from.
   */
  policiesAt(n: number): string[] {
    const out = new Set<string>();
    for (const node of this.#levels[n] ?? []) {
      let top = node;
      while (top.parent && top.parent.validPolicy !== OID.anyPolicy) top = top.parent;
      out.add(top.validPolicy);
    }
    return [...out];
  }
}
