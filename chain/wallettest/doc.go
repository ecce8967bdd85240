// Package wallettest checks a gridmint deployment the way wallets and
// block explorers see it: wallet_test.go deploys the contracts on a
// geth --dev, issues, transfers, retires and rewards from Go, serves the
// node API's REC metadata, and runs wallet.mjs, which reads FLEX and REC
// with ethers.js (pinned in package.json and package-lock.json) through
// the standard ERC-20 and ERC-1155 ABIs only.
//
// It needs geth, Node.js and `npm ci` in this directory (`make test` and
// .ci/run do it); without them the test skips, except under CI=1, where
// it fails.
package wallettest
