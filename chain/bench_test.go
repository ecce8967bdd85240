package chain

import (
	"fmt"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Gas is deterministic: these benchmarks report it from receipts (go test
// -run '^$' -bench Gas -benchtime 1x ./chain). Each uses k = 3 of n = 5
// attestors.

// benchOwners are n distinct homes, one device each.
func benchOwners(n int) []common.Address {
	out := make([]common.Address, n)
	for i := range out {
		out[i] = common.BytesToAddress(crypto.Keccak256([]byte(fmt.Sprint("home", i)))[12:])
	}
	return out
}

func hourBatch(owners []common.Address, hour uint64) IssueBatch {
	cs := make([]Claim, len(owners))
	for i, o := range owners {
		cs[i] = claim(fmt.Sprint("dev", i), o, hour, 1500+uint64(i))
	}
	return NewIssueBatch(cs)
}

// BenchmarkIssueGas issues one clock hour of n devices (n homes) in one
// zone per batch, the realistic batch. Balances are packed eight hours per
// slot, groups staggered per home, so each hour an eighth of the homes
// start a new balance slot. Each iteration issues eight consecutive hours
// (8 batches) and reports
//   - gas/device-hour: the mean over the eight batches,
//   - gas/device-hour-max, -min: the dearest and cheapest batch,
//   - gas/device-hour-new-device: a batch of devices' first ever hour.
//
// The largest batch is 192 claims: a batch of 256 devices' first hours
// (about 66,000 gas each, with the client's 20 % estimate margin) is over
// the 16,777,216 gas a transaction may use since Osaka (EIP-7825); the
// node's own batches are sized by rec.DefaultGas, far below either.
func BenchmarkIssueGas(b *testing.B) {
	for _, n := range []int{1, 16, 192} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			h := newHarness(b, 3, 5)
			owners := benchOwners(n)
			base := h.pastHour(24*60) &^ 7 // a group start, 60 days ago
			first := hourBatch(owners, base-1)
			r, err := h.c.Issue(h.ctx, first, h.signIssue(first, 0, 1, 2))
			if err != nil {
				b.Fatal(err)
			}
			newDevice := float64(r.GasUsed) / float64(n)
			var total uint64
			lo, hi := ^uint64(0), uint64(0)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := uint64(0); j < 8; j++ {
					hb := hourBatch(owners, base+uint64(i)*8+j)
					r, err := h.c.Issue(h.ctx, hb, h.signIssue(hb, 0, 1, 2))
					if err != nil {
						b.Fatal(err)
					}
					total += r.GasUsed
					lo, hi = min(lo, r.GasUsed), max(hi, r.GasUsed)
				}
			}
			b.ReportMetric(float64(total)/float64(8*b.N*n), "gas/device-hour")
			b.ReportMetric(float64(hi)/float64(n), "gas/device-hour-max")
			b.ReportMetric(float64(lo)/float64(n), "gas/device-hour-min")
			b.ReportMetric(newDevice, "gas/device-hour-new-device")
		})
	}
}

// BenchmarkRewardGas mints n reward records (delivery) per batch to n
// providers who hold FLEX already; reports gas per record.
func BenchmarkRewardGas(b *testing.B) {
	for _, n := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			h := newHarness(b, 3, 5)
			providers := benchOwners(n)
			batch := func(round int) RewardBatch {
				rs := make([]Reward, n)
				for i, p := range providers {
					rs[i] = Reward{RecordID: crypto.Keccak256Hash([]byte(fmt.Sprint("rec", round, i))), Provider: p,
						Amount: big.NewInt(1e18), Kind: RewardDelivery, Evidence: crypto.Keccak256Hash([]byte(fmt.Sprint("ev", round, i)))}
				}
				return NewRewardBatch(rs)
			}
			warm := batch(-1)
			if _, err := h.c.Reward(h.ctx, warm, h.signReward(warm, 0, 1, 2)); err != nil {
				b.Fatal(err)
			}
			var total uint64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rb := batch(i)
				r, err := h.c.Reward(h.ctx, rb, h.signReward(rb, 0, 1, 2))
				if err != nil {
					b.Fatal(err)
				}
				total += r.GasUsed
			}
			b.ReportMetric(float64(total)/float64(b.N*n), "gas/record")
			b.ReportMetric(float64(total)/float64(b.N), "gas/batch")
		})
	}
}

// BenchmarkReserveGas burns FLEX for one request per transaction.
func BenchmarkReserveGas(b *testing.B) {
	h := newHarness(b, 3, 5)
	rb := NewRewardBatch([]Reward{{RecordID: crypto.Keccak256Hash([]byte("fund")), Provider: h.c.Address(), Amount: new(big.Int).Mul(big.NewInt(1e6), big.NewInt(1e18)), Kind: RewardDelivery}})
	if _, err := h.c.Reward(h.ctx, rb, h.signReward(rb, 0, 1, 2)); err != nil {
		b.Fatal(err)
	}
	var total uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := h.c.Reserve(h.ctx, crypto.Keccak256Hash([]byte(fmt.Sprint("req", i))), crypto.Keccak256Hash([]byte(fmt.Sprint("root", i))), big.NewInt(1e18))
		if err != nil {
			b.Fatal(err)
		}
		total += r.GasUsed
	}
	b.ReportMetric(float64(total)/float64(b.N), "gas/reserve")
}

// BenchmarkRetireGas retires part of one token id per transaction.
func BenchmarkRetireGas(b *testing.B) {
	h := newHarness(b, 3, 5)
	hour := h.pastHour(48)
	ib := NewIssueBatch([]Claim{claim("pv", h.c.Address(), hour, 4_000_000)})
	if _, err := h.c.Issue(h.ctx, ib, h.signIssue(ib, 0, 1, 2)); err != nil {
		b.Fatal(err)
	}
	id := ClaimTokenID(ib.Claims[0])
	var total uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := h.c.Retire(h.ctx, RetireRequest{Ref: crypto.Keccak256Hash([]byte(fmt.Sprint("ret", i))), Token: id, Wh: 1000,
			Beneficiary: "ACME GmbH", Claim: "Hourly matched renewable electricity, Berlin site"})
		if err != nil {
			b.Fatal(err)
		}
		total += r.GasUsed
	}
	b.ReportMetric(float64(total)/float64(b.N), "gas/retire")
}

// BenchmarkIssueGasBreakdown splits the gas of a batch of 192
// device-hours (one clock hour of 192 homes whose devices were issued
// before, k = 3 signatures) into where it goes, by issuing variants of
// the same batch over eight consecutive hours each (a full lane cycle):
//   - gas/device-hour: the real batch (as BenchmarkIssueGas batch=192);
//   - calldata/device-hour: one claim's share of the transaction's input
//     (16 gas a non-zero byte, 4 a zero byte);
//   - fixed/device-hour: what does not grow with the claims (21,000, the
//     k signature checks, the batch id, the Issued event), spread over 192
//     claims: a batch of one claim minus one claim's cost;
//   - zero-wh/device-hour: the same batch with wh = 0, where the contract
//     only moves each device's high-water mark (a cold non-zero SSTORE);
//   - one-owner/device-hour: the real batch with every device owned by one
//     account, so that its balance slot and its account are warm after the
//     first claim.
//
// go test -run '^$' -bench IssueGasBreakdown -benchtime 1x ./chain
func BenchmarkIssueGasBreakdown(b *testing.B) {
	const n = 192
	h := newHarness(b, 3, 5)
	owners := benchOwners(n)
	one := make([]common.Address, n)
	for i := range one {
		one[i] = common.BytesToAddress(crypto.Keccak256([]byte("one owner"))[12:])
	}
	base := h.pastHour(24*60) &^ 7
	batch := func(os []common.Address, prefix string, hour uint64, wh func(i int) uint64) IssueBatch {
		cs := make([]Claim, len(os))
		for i, o := range os {
			cs[i] = claim(fmt.Sprint(prefix, i), o, hour, wh(i))
		}
		return NewIssueBatch(cs)
	}
	real := func(i int) uint64 { return 1500 + uint64(i) }
	zero := func(int) uint64 { return 0 }
	var calldata uint64
	issue := func(ib IssueBatch) uint64 {
		r, err := h.c.Issue(h.ctx, ib, h.signIssue(ib, 0, 1, 2))
		if err != nil {
			b.Fatal(err)
		}
		tx, _, err := h.sim.Backend().TransactionByHash(h.ctx, r.TxHash)
		if err != nil {
			b.Fatal(err)
		}
		calldata = 0
		for _, x := range tx.Data() {
			if x == 0 {
				calldata += 4
			} else {
				calldata += 16
			}
		}
		return r.GasUsed
	}
	// Every device's first hour: its high-water mark slot is new, and its
	// owner's first balance slot.
	issue(batch(owners, "dev", base-1, real))
	issue(batch(one, "one", base-1, real))
	issue(NewIssueBatch([]Claim{claim("solo", owners[0], base-1, 0)}))
	// A batch of one zero-Wh claim of a device issued before.
	single := float64(issue(NewIssueBatch([]Claim{claim("solo", owners[0], base, 0)})))
	singleCD := float64(calldata)
	// Eight hours of each, continuing the lanes the first hour began.
	run := func(os []common.Address, prefix string, from uint64, wh func(int) uint64) (gas, cd float64) {
		for j := range uint64(8) {
			gas += float64(issue(batch(os, prefix, from+j, wh)))
			cd += float64(calldata)
		}
		return gas / (8 * n), cd / (8 * n)
	}
	var full, cd, zeroWh, oneOwner float64
	b.ResetTimer()
	for i := range uint64(b.N) {
		full, cd = run(owners, "dev", base+16*i, real)
		zeroWh, _ = run(owners, "dev", base+16*i+8, zero)
		oneOwner, _ = run(one, "one", base+16*i, real)
	}
	// n claims cost n × (claim) + fixed; one claim costs claim + fixed.
	perClaim := (zeroWh*n - single) / (n - 1)
	perClaimCD := (cd*n - singleCD) / (n - 1)
	b.ReportMetric(full, "gas/device-hour")
	b.ReportMetric(perClaimCD, "calldata/device-hour")
	b.ReportMetric((single-perClaim)/n, "fixed/device-hour")
	b.ReportMetric(zeroWh, "zero-wh/device-hour")
	b.ReportMetric(oneOwner, "one-owner/device-hour")
}
