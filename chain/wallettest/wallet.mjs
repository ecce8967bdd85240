// Reads a gridmint deployment the way a wallet or a block explorer does:
// only the standard ERC-20 and ERC-1155 ABIs (plus REC's Retired event),
// over plain JSON-RPC with ethers, and the ERC-1155 metadata URI with the
// {id} substitution the standard defines. Prints what it read as JSON on
// stdout; wallet_test.go checks it against what the Go side did.
//
// Usage: node wallet.mjs config.json, where config.json is
// {"rpc": url, "flex": address, "rec": address, "fromBlock": n,
//  "accounts": [address...], "tokens": ["decimal token id"...]}.
import { readFileSync } from "node:fs";
import { ethers } from "ethers";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));

// What MetaMask, Etherscan and friends call: nothing gridmint-specific.
const erc20 = [
  "function name() view returns (string)",
  "function symbol() view returns (string)",
  "function decimals() view returns (uint8)",
  "function totalSupply() view returns (uint256)",
  "function balanceOf(address) view returns (uint256)",
  "event Transfer(address indexed from, address indexed to, uint256 value)",
];
const erc1155 = [
  "function name() view returns (string)",
  "function symbol() view returns (string)",
  "function uri(uint256 id) view returns (string)",
  "function balanceOf(address account, uint256 id) view returns (uint256)",
  "function balanceOfBatch(address[] accounts, uint256[] ids) view returns (uint256[])",
  "function supportsInterface(bytes4 interfaceId) view returns (bool)",
  "event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 value)",
  "event TransferBatch(address indexed operator, address indexed from, address indexed to, uint256[] ids, uint256[] values)",
  "event Retired(uint256 indexed retirementId, address indexed account, uint256 indexed id, uint256 amount, string beneficiary, string claim)",
];

const provider = new ethers.JsonRpcProvider(cfg.rpc);
const flex = new ethers.Contract(cfg.flex, erc20, provider);
const rec = new ethers.Contract(cfg.rec, erc1155, provider);
const str = (v) => v.toString();

const out = { chainId: str((await provider.getNetwork()).chainId) };

out.flex = {
  name: await flex.name(),
  symbol: await flex.symbol(),
  decimals: Number(await flex.decimals()),
  totalSupply: str(await flex.totalSupply()),
  balances: {},
  // What a wallet shows: the balance in whole tokens.
  formatted: {},
};
for (const a of cfg.accounts) {
  const b = await flex.balanceOf(a);
  out.flex.balances[a] = str(b);
  out.flex.formatted[a] = ethers.formatUnits(b, out.flex.decimals);
}

out.rec = {
  name: await rec.name(),
  symbol: await rec.symbol(),
  erc1155: await rec.supportsInterface("0xd9b67a26"),
  metadataURI: await rec.supportsInterface("0x0e89341c"),
  tokens: [],
};
for (const id of cfg.tokens.map(BigInt)) {
  const uri = await rec.uri(id);
  // ERC-1155: "{id}" is replaced by the id as 64 lower-case hex digits.
  const url = uri.replace("{id}", id.toString(16).padStart(64, "0"));
  const res = await fetch(url);
  const t = {
    id: str(id), uri, url, status: res.status,
    contentType: res.headers.get("content-type"),
    cors: res.headers.get("access-control-allow-origin"),
    metadata: res.ok ? await res.json() : await res.text(),
    balances: {},
  };
  const bals = await rec.balanceOfBatch(cfg.accounts, cfg.accounts.map(() => id));
  cfg.accounts.forEach((a, i) => { t.balances[a] = str(bals[i]); });
  out.rec.tokens.push(t);
}

// An explorer's token page: every transfer and retirement from the
// deployment block on.
const logs = (ev) => rec.queryFilter(rec.filters[ev](), cfg.fromBlock, "latest");
out.rec.transfers = (await logs("TransferSingle")).map((l) => ({
  operator: l.args.operator, from: l.args.from, to: l.args.to, id: str(l.args.id), value: str(l.args.value),
  block: l.blockNumber, tx: l.transactionHash,
}));
out.rec.retired = (await logs("Retired")).map((l) => ({
  retirementId: str(l.args.retirementId), account: l.args.account, id: str(l.args.id), amount: str(l.args.amount),
  beneficiary: l.args.beneficiary, claim: l.args.claim, block: l.blockNumber, tx: l.transactionHash,
}));
out.flex.transfers = (await flex.queryFilter(flex.filters.Transfer(), cfg.fromBlock, "latest")).map((l) => ({
  from: l.args.from, to: l.args.to, value: str(l.args.value),
}));

provider.destroy();
process.stdout.write(JSON.stringify(out, null, 2) + "\n");
