package market

import (
	"context"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/flex"
)

// Tracker follows firm awards from their reservation on: metering,
// measurement and verification, rewards (node/market/mv). Track is called
// once per request, when it becomes firm, on every node (a utility's or a
// peer's Local is empty); it must not block for long.
type Tracker interface {
	Track(ctx context.Context, ev FirmEvent)
}

// FirmEvent is a request whose awards a confirmed reservation made firm.
type FirmEvent struct {
	Clearing flex.Clearing
	// ReservationTx is the reserve transaction; Reserved the FLEX base
	// units it burned (at least Clearing.Value()); ReservationBlock its
	// block.
	ReservationTx    common.Hash
	Reserved         *big.Int
	ReservationBlock uint64
	// Local are the awards of this node's own devices.
	Local []LocalAward
}

// LocalAward is an award of one of this node's devices: the award as the
// network cleared it (its Device the network name, author/key/…) and the
// node's own device id.
type LocalAward struct {
	Award  gridmint.Award
	Device gridmint.DeviceID
}
