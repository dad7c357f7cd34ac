// Enforces the layering rule: a package may import only packages of a lower layer that it
// declares as dependencies, and `core` (layer 1) may not touch the process, network or disk.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const pkgs = new Map();
for (const dir of readdirSync(join(root, 'packages'))) {
  const meta = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));
  pkgs.set(meta.name, { dir, layer: meta.sealpost.layer, deps: Object.keys(meta.dependencies ?? {}) });
}
const FORBIDDEN_IN_CORE =
  /^node:(fs|net|http|https|http2|child_process|dgram|dns|os|tls|cluster|worker_threads|process)(\/|$)/;
const problems = [];
function* files(dir) {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (/\.(ts|mjs)$/.test(e)) yield p;
  }
}
for (const [name, pkg] of pkgs) {
  for (const file of files(join(root, 'packages', pkg.dir, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
      const spec = m[1];
      const target = [...pkgs.keys()].find((n) => spec === n || spec.startsWith(`${n}/`));
      if (target && target !== name) {
        if (pkgs.get(target).layer >= pkg.layer)
          problems.push(`${file}: ${name} must not import ${target} (layers point down only)`);
        else if (!pkg.deps.includes(target))
          problems.push(`${file}: ${target} is not declared in ${name}'s dependencies`);
      }
      if (pkg.layer === 1 && FORBIDDEN_IN_CORE.test(spec)) problems.push(`${file}: core must stay pure (no ${spec})`);
    }
    if (pkg.layer === 1 && /\bprocess\.(env|argv|exit|stdout|stderr|cwd)\b|\bDate\.now\(|new Date\(\)/.test(text)) {
      problems.push(`${file}: core must not read the process or the ambient clock`);
    }
  }
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`layers ok: ${pkgs.size} packages`);
