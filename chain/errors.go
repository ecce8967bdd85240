package chain

import (
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/gridmint/gridmint/chain/bindings/flex"
	"github.com/gridmint/gridmint/chain/bindings/rec"
	"github.com/gridmint/gridmint/chain/bindings/registry"
)

// ErrInsufficientFunds is matched (errors.Is) by an *InsufficientFundsError.
var ErrInsufficientFunds = errors.New("chain: account has too little ETH for gas")

// InsufficientFundsError says the sending account cannot pay for a
// transaction. Amounts in wei.
type InsufficientFundsError struct {
	Account common.Address
	Have    *big.Int
	Need    *big.Int
}

func (e *InsufficientFundsError) Error() string {
	if e.Have == nil || e.Need == nil {
		return fmt.Sprintf("chain: account %s has too little ETH for gas (fund it)", e.Account)
	}
	return fmt.Sprintf("chain: account %s has %s wei, needs %s wei for gas (fund it)", e.Account, e.Have, e.Need)
}

// Is makes errors.Is(err, ErrInsufficientFunds) true.
func (e *InsufficientFundsError) Is(target error) bool { return target == ErrInsufficientFunds }

// ChainIDError is an endpoint that serves another chain than the one
// configured (Config.ChainID).
type ChainIDError struct {
	Want, Got *big.Int
}

func (e *ChainIDError) Error() string {
	return fmt.Sprintf("chain: the endpoint serves chain id %s, want %s: it is another network (its messages and transactions would not be this network's)", e.Got, e.Want)
}

// RevertError is a contract call that reverted, with the custom error
// decoded: Name is the Solidity error's name ("HourAlreadyIssued") and
// Args its arguments, in order. Name is "" when the revert data matched
// no known error (Data then holds it).
type RevertError struct {
	Name string
	Args []any
	Data []byte
}

func (e *RevertError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("chain: execution reverted (data %x)", e.Data)
	}
	args := make([]string, len(e.Args))
	for i, a := range e.Args {
		switch v := a.(type) {
		case [32]byte:
			args[i] = common.Hash(v).Hex()
		default:
			args[i] = fmt.Sprint(v)
		}
	}
	return fmt.Sprintf("chain: reverted: %s(%s)", e.Name, strings.Join(args, ", "))
}

// IsRevert reports whether err is a revert with the named custom error.
func IsRevert(err error, name string) bool {
	var r *RevertError
	return errors.As(err, &r) && r.Name == name
}

// contractErrors maps 4-byte selectors to the custom errors of the three
// contracts (and Solidity's Error(string) and Panic(uint256)).
var contractErrors = func() map[[4]byte]abi.Error {
	m := map[[4]byte]abi.Error{}
	for _, a := range []*abi.ABI{registryABI, recABI, flexABI} {
		for _, e := range a.Errors {
			var sel [4]byte
			copy(sel[:], e.ID[:4])
			m[sel] = e
		}
	}
	str, _ := abi.NewType("string", "", nil)
	u256, _ := abi.NewType("uint256", "", nil)
	for _, e := range []abi.Error{
		abi.NewError("Error", abi.Arguments{{Name: "message", Type: str}}),
		abi.NewError("Panic", abi.Arguments{{Name: "code", Type: u256}}),
	} {
		var sel [4]byte
		copy(sel[:], e.ID[:4])
		m[sel] = e
	}
	return m
}()

// The contracts' parsed ABIs.
var (
	registryABI = mustABI(registry.AttestorRegistryMetaData.ParseABI())
	recABI      = mustABI(rec.RECMetaData.ParseABI())
	flexABI     = mustABI(flex.FLEXMetaData.ParseABI())
)

func mustABI(a *abi.ABI, err error) *abi.ABI {
	if err != nil {
		panic(err)
	}
	return a
}

// DecodeRevert decodes revert data returned by a node: a *RevertError,
// with Name "" when the selector is unknown or the arguments malformed.
func DecodeRevert(data []byte) *RevertError {
	r := &RevertError{Data: common.CopyBytes(data)}
	if len(data) < 4 {
		return r
	}
	var sel [4]byte
	copy(sel[:], data[:4])
	e, ok := contractErrors[sel]
	if !ok {
		return r
	}
	vals, err := e.Inputs.Unpack(data[4:])
	if err != nil {
		return r
	}
	r.Name, r.Args = e.Name, vals
	return r
}

// revertOf returns the decoded revert of a failed eth_call or
// eth_estimateGas, or nil when err is not a revert.
func revertOf(err error) *RevertError {
	if err == nil {
		return nil
	}
	var de rpc.DataError
	if errors.As(err, &de) {
		switch d := de.ErrorData().(type) {
		case string:
			if b, herr := hexutil.Decode(d); herr == nil {
				return DecodeRevert(b)
			}
		case []byte:
			return DecodeRevert(d)
		}
	}
	if strings.Contains(err.Error(), "execution reverted") {
		return &RevertError{}
	}
	return nil
}

// isInsufficientFunds recognises a node's "insufficient funds" refusal.
func isInsufficientFunds(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "insufficient funds")
}
