// Compiles the gridmint contracts with solc-js (the version pinned in
// package-lock.json) and OpenZeppelin from node_modules into
// build/combined.json (the combined-JSON format abigen reads), and records
// in build/inputs.sha256 the hash of the inputs (every *.sol here,
// solc-settings.json, package-lock.json) so that a Go test can tell, without
// npm, whether the committed artifacts and bindings are stale.
// Run by generate.sh (go generate ./chain).
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const solc = require('solc');

const here = __dirname;
const WANT_SOLC = '0.8.37';
const DEPLOYABLE = ['AttestorRegistry', 'REC', 'FLEX'];

if (!solc.version().startsWith(WANT_SOLC + '+')) {
  console.error(`compile.js: solc ${solc.version()}, want ${WANT_SOLC}: run npm ci`);
  process.exit(1);
}

const sourceNames = fs.readdirSync(here).filter((f) => f.endsWith('.sol')).sort();
const settings = JSON.parse(fs.readFileSync(path.join(here, 'solc-settings.json'), 'utf8'));
const input = { language: 'Solidity', sources: {}, settings };
for (const f of sourceNames) input.sources[f] = { content: fs.readFileSync(path.join(here, f), 'utf8') };

function findImports(p) {
  const file = path.join(here, 'node_modules', p);
  if (!file.startsWith(path.join(here, 'node_modules') + path.sep)) return { error: 'outside node_modules: ' + p };
  try {
    return { contents: fs.readFileSync(file, 'utf8') };
  } catch (e) {
    return { error: 'not found: ' + p };
  }
}

const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
let failed = false;
for (const e of out.errors || []) {
  console.error(e.formattedMessage || e.message);
  if (e.severity === 'error') failed = true;
}
if (failed) process.exit(1);

const combined = { contracts: {}, version: solc.version() };
for (const f of sourceNames) {
  for (const [name, c] of Object.entries(out.contracts[f] || {})) {
    if (!DEPLOYABLE.includes(name)) continue;
    combined.contracts[`${f}:${name}`] = {
      abi: c.abi,
      bin: c.evm.bytecode.object,
      'bin-runtime': c.evm.deployedBytecode.object,
    };
  }
}
for (const name of DEPLOYABLE) {
  if (!Object.keys(combined.contracts).some((k) => k.endsWith(':' + name))) {
    console.error(`compile.js: contract ${name} not found`);
    process.exit(1);
  }
}

// inputsHash must match chain.contractInputsHash in Go (generate_test.go).
function inputsHash() {
  const names = sourceNames.concat(['solc-settings.json', 'package-lock.json']).sort();
  const h = crypto.createHash('sha256');
  for (const n of names) {
    const data = fs.readFileSync(path.join(here, n));
    h.update(`${n}\n${data.length}\n`);
    h.update(data);
  }
  return h.digest('hex');
}

fs.mkdirSync(path.join(here, 'build'), { recursive: true });
fs.writeFileSync(path.join(here, 'build', 'combined.json'), JSON.stringify(combined, null, 1) + '\n');
fs.writeFileSync(path.join(here, 'build', 'inputs.sha256'), inputsHash() + '\n');
for (const [k, c] of Object.entries(combined.contracts)) {
  console.log(`compiled ${k}: ${c['bin-runtime'].length / 2} bytes deployed`);
}
