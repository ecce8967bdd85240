// Code generated via abigen V2 - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package registry

import (
	"bytes"
	"errors"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// Reference imports to suppress errors if they are not otherwise used.
var (
	_ = bytes.Equal
	_ = errors.New
	_ = big.NewInt
	_ = common.Big1
	_ = types.BloomLookup
	_ = abi.ConvertType
)

// AttestorRegistryMetaData contains all meta data concerning the AttestorRegistry contract.
var AttestorRegistryMetaData = bind.MetaData{
	ABI: "[{\"inputs\":[{\"internalType\":\"address\",\"name\":\"owner_\",\"type\":\"address\"},{\"internalType\":\"address[]\",\"name\":\"attestors\",\"type\":\"address[]\"},{\"internalType\":\"uint256\",\"name\":\"k\",\"type\":\"uint256\"}],\"stateMutability\":\"nonpayable\",\"type\":\"constructor\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"attestor\",\"type\":\"address\"}],\"name\":\"AlreadyAttestor\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"signatures\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"threshold\",\"type\":\"uint256\"}],\"name\":\"BelowThreshold\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"signer\",\"type\":\"address\"}],\"name\":\"DuplicateAttestor\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"index\",\"type\":\"uint256\"}],\"name\":\"InvalidSignature\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"threshold\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"attestors\",\"type\":\"uint256\"}],\"name\":\"InvalidThreshold\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"attestor\",\"type\":\"address\"}],\"name\":\"NotAttestor\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"owner\",\"type\":\"address\"}],\"name\":\"OwnableInvalidOwner\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"}],\"name\":\"OwnableUnauthorizedAccount\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"signatures\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"max\",\"type\":\"uint256\"}],\"name\":\"TooManySignatures\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"signer\",\"type\":\"address\"}],\"name\":\"UnregisteredAttestor\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"ZeroAttestor\",\"type\":\"error\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"attestor\",\"type\":\"address\"}],\"name\":\"AttestorAdded\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"attestor\",\"type\":\"address\"}],\"name\":\"AttestorRemoved\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"previousOwner\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"newOwner\",\"type\":\"address\"}],\"name\":\"OwnershipTransferStarted\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"previousOwner\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"newOwner\",\"type\":\"address\"}],\"name\":\"OwnershipTransferred\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"previous\",\"type\":\"uint256\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"threshold\",\"type\":\"uint256\"}],\"name\":\"ThresholdChanged\",\"type\":\"event\"},{\"inputs\":[],\"name\":\"MAX_SIGNATURES\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"acceptOwnership\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"attestor\",\"type\":\"address\"}],\"name\":\"addAttestor\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"attestorCount\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"attestor\",\"type\":\"address\"}],\"name\":\"isAttestor\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"owner\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"pendingOwner\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"attestor\",\"type\":\"address\"}],\"name\":\"removeAttestor\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"renounceOwnership\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"k\",\"type\":\"uint256\"}],\"name\":\"setThreshold\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"threshold\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"newOwner\",\"type\":\"address\"}],\"name\":\"transferOwnership\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"digest\",\"type\":\"bytes32\"},{\"internalType\":\"bytes[]\",\"name\":\"signatures\",\"type\":\"bytes[]\"}],\"name\":\"verify\",\"outputs\":[{\"internalType\":\"address[]\",\"name\":\"signers\",\"type\":\"address[]\"}],\"stateMutability\":\"view\",\"type\":\"function\"}]",
	ID:  "8d8039589993415bb78273a537f27361d3",
	Bin: "0x60806040523461026057610ef78038038061001981610278565b9283398101606082820312610260576100318261029d565b60208301519092906001600160401b0381116102605781019180601f84011215610260578251926001600160401b038411610264578360051b90602080610079818501610278565b80978152019282010192831161026057602001905b8282106102485750505060400151916001600160a01b0316801561023557600180546001600160a01b03199081169091555f8054918216831781556001600160a01b03909116907f8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e09080a35f5b81518110156101bf57600581901b8201602001516001600160a01b03169081156101b057815f52600260205260ff60405f20541661019d575f828152600260205260409020805460ff19166001179055600354915f1983146101895760018093016003557f945c4a21d3fce955d17e31fcc471734b3d754c032b3805b02fe75d89c29b2a3a5f80a2016100fb565b634e487b7160e01b5f52601160045260245ffd5b50632ca1900960e11b5f5260045260245ffd5b633f32aabd60e21b5f5260045ffd5b828015801561022a575b610211577f3164947cf0f49f08dd0cd80e671535b1e11590d347c55dcaa97ba3c24a96b33a60406004548151908152836020820152a1600455604051610c4590816102b28239f35b60035490637b7a98f160e01b5f5260045260245260445ffd5b5060035481116101c9565b631e4fbdf760e01b5f525f60045260245ffd5b602080916102558461029d565b81520191019061008e565b5f80fd5b634e487b7160e01b5f52604160045260245ffd5b6040519190601f01601f191682016001600160401b0381118382101761026457604052565b51906001600160a01b03821682036102605756fe6080806040526004361015610012575f80fd5b5f3560e01c908163037a379614610a78575080632e2f4e2414610a2b57806342cde4e814610a0e578063631255f2146109f1578063715018a61461094d57806379ba5097146108635780638da5cb5b14610831578063960bfe0414610794578063b39120231461062e578063e0cae635146104cf578063e30c39781461049c578063f2fde38b146103fa5763fb0fe3f4146100ab575f80fd5b346103f65760406003193601126103f65760043560243567ffffffffffffffff81116103f657366023820112156103f65780600401359167ffffffffffffffff83116103f6576024820191602436918560051b0101116103f6576004548084106103c75750604083116103965761012183610a91565b927fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe0601f604051950116840184811067ffffffffffffffff8211176103695760405280845261016f81610a91565b927fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe06020860194013685375f5b8281106101fd578486604051918291602083019060208452518091526040830191905f5b8181106101ce575050500390f35b825173ffffffffffffffffffffffffffffffffffffffff168452859450602093840193909201916001016101c0565b61021261020b828585610aa9565b9086610b6a565b50600481101561033c5715801590610325575b6102f95773ffffffffffffffffffffffffffffffffffffffff16805f52600260205260ff60405f205416156102ce575f5b82811061027357509060019161026c8289610b36565b520161019c565b8173ffffffffffffffffffffffffffffffffffffffff610293838b610b36565b5116146102a257600101610256565b507fc4e5be43000000000000000000000000000000000000000000000000000000005f5260045260245ffd5b7fb900c065000000000000000000000000000000000000000000000000000000005f5260045260245ffd5b507f52bf9848000000000000000000000000000000000000000000000000000000005f5260045260245ffd5b506041610333838686610aa9565b90501415610225565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52602160045260245ffd5b7f4e487b71000000000000000000000000000000000000000000000000000000005f52604160045260245ffd5b827f3f8ea025000000000000000000000000000000000000000000000000000000005f52600452604060245260445ffd5b837f8b05c814000000000000000000000000000000000000000000000000000000005f5260045260245260445ffd5b5f80fd5b346103f65760206003193601126103f65760043573ffffffffffffffffffffffffffffffffffffffff81168091036103f657610434610b4a565b807fffffffffffffffffffffffff0000000000000000000000000000000000000000600154161760015573ffffffffffffffffffffffffffffffffffffffff5f54167f38d16b8cac22d99fc7c124b9cd0de2d3fa1faef420bfe791d8c362d765e227005f80a3005b346103f6575f6003193601126103f657602073ffffffffffffffffffffffffffffffffffffffff60015416604051908152f35b346103f65760206003193601126103f65760043573ffffffffffffffffffffffffffffffffffffffff81168091036103f657610509610b4a565b801561060657805f52600260205260ff60405f2054166105db57805f52600260205260405f2060017fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff008254161790556003547fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff81146105ae576001016003557f945c4a21d3fce955d17e31fcc471734b3d754c032b3805b02fe75d89c29b2a3a5f80a2005b7f4e487b71000000000000000000000000000000000000000000000000000000005f52601160045260245ffd5b7f59432012000000000000000000000000000000000000000000000000000000005f5260045260245ffd5b7ffccaaaf4000000000000000000000000000000000000000000000000000000005f5260045ffd5b346103f65760206003193601126103f65760043573ffffffffffffffffffffffffffffffffffffffff81168091036103f657610668610b4a565b805f52600260205260ff60405f20541615610769576003547fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff81019081116105ae5760045480821061073b5782805f52600260205260405f207fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00815416905560035480156105ae577fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff016003557f7b1e5155c9ac76eaa3c56fcf63a3383cd696a6fa84c49901c7ae374c0a5086125f80a2005b7f7b7a98f1000000000000000000000000000000000000000000000000000000005f5260045260245260445ffd5b7f6ae28ec9000000000000000000000000000000000000000000000000000000005f5260045260245ffd5b346103f65760206003193601126103f6576004356107b0610b4a565b80158015610826575b6107f4577f3164947cf0f49f08dd0cd80e671535b1e11590d347c55dcaa97ba3c24a96b33a60406004548151908152836020820152a1600455005b600354907f7b7a98f1000000000000000000000000000000000000000000000000000000005f5260045260245260445ffd5b5060035481116107b9565b346103f6575f6003193601126103f657602073ffffffffffffffffffffffffffffffffffffffff5f5416604051908152f35b346103f6575f6003193601126103f6573373ffffffffffffffffffffffffffffffffffffffff6001541603610921577fffffffffffffffffffffffff0000000000000000000000000000000000000000600154166001555f54337fffffffffffffffffffffffff00000000000000000000000000000000000000008216175f5573ffffffffffffffffffffffffffffffffffffffff3391167f8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e05f80a3005b7f118cdaa7000000000000000000000000000000000000000000000000000000005f523360045260245ffd5b346103f6575f6003193601126103f657610965610b4a565b7fffffffffffffffffffffffff0000000000000000000000000000000000000000600154166001555f73ffffffffffffffffffffffffffffffffffffffff81547fffffffffffffffffffffffff000000000000000000000000000000000000000081168355167f8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e08280a3005b346103f6575f6003193601126103f6576020600354604051908152f35b346103f6575f6003193601126103f6576020600454604051908152f35b346103f65760206003193601126103f65760043573ffffffffffffffffffffffffffffffffffffffff81168091036103f6575f526002602052602060ff60405f2054166040519015158152f35b346103f6575f6003193601126103f65780604060209252f35b67ffffffffffffffff81116103695760051b60200190565b9190811015610b095760051b810135907fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe1813603018212156103f657019081359167ffffffffffffffff83116103f65760200182360381136103f6579190565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52603260045260245ffd5b8051821015610b095760209160051b010190565b73ffffffffffffffffffffffffffffffffffffffff5f5416330361092157565b9060418303610b9457610b8d9250602081013591604082359201355f1a90610b9e565b9192909190565b50505f9160029190565b91907f7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a08411610c2d579160209360809260ff5f9560405194855216868401526040830152606082015282805260015afa15610c22575f5173ffffffffffffffffffffffffffffffffffffffff811615610c1857905f905f90565b505f906001905f90565b6040513d5f823e3d90fd5b5050505f916003919056fea164736f6c6343000825000a",
}

// AttestorRegistry is an auto generated Go binding around an Ethereum contract.
type AttestorRegistry struct {
	abi abi.ABI
}

// GetABI returns the ABI associated with this contract binding.
func (c *AttestorRegistry) GetABI() abi.ABI {
	return c.abi
}

// NewAttestorRegistry creates a new instance of AttestorRegistry.
func NewAttestorRegistry() *AttestorRegistry {
	parsed, err := AttestorRegistryMetaData.ParseABI()
	if err != nil {
		panic(errors.New("invalid ABI: " + err.Error()))
	}
	return &AttestorRegistry{abi: *parsed}
}

// Instance creates a wrapper for a deployed contract instance at the given address.
// Use this to create the instance object passed to abigen v2 library functions Call, Transact, etc.
func (c *AttestorRegistry) Instance(backend bind.ContractBackend, addr common.Address) *bind.BoundContract {
	return bind.NewBoundContract(addr, c.abi, backend, backend, backend)
}

// PackConstructor is the Go binding used to pack the parameters required for
// contract deployment.
//
// Solidity: constructor(address owner_, address[] attestors, uint256 k) returns()
func (attestorRegistry *AttestorRegistry) PackConstructor(owner_ common.Address, attestors []common.Address, k *big.Int) []byte {
	enc, err := attestorRegistry.abi.Pack("", owner_, attestors, k)
	if err != nil {
		panic(err)
	}
	return enc
}

// PackMAXSIGNATURES is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x037a3796.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function MAX_SIGNATURES() view returns(uint256)
func (attestorRegistry *AttestorRegistry) PackMAXSIGNATURES() []byte {
	enc, err := attestorRegistry.abi.Pack("MAX_SIGNATURES")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackMAXSIGNATURES is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x037a3796.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function MAX_SIGNATURES() view returns(uint256)
func (attestorRegistry *AttestorRegistry) TryPackMAXSIGNATURES() ([]byte, error) {
	return attestorRegistry.abi.Pack("MAX_SIGNATURES")
}

// UnpackMAXSIGNATURES is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x037a3796.
//
// Solidity: function MAX_SIGNATURES() view returns(uint256)
func (attestorRegistry *AttestorRegistry) UnpackMAXSIGNATURES(data []byte) (*big.Int, error) {
	out, err := attestorRegistry.abi.Unpack("MAX_SIGNATURES", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackAcceptOwnership is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x79ba5097.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function acceptOwnership() returns()
func (attestorRegistry *AttestorRegistry) PackAcceptOwnership() []byte {
	enc, err := attestorRegistry.abi.Pack("acceptOwnership")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackAcceptOwnership is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x79ba5097.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function acceptOwnership() returns()
func (attestorRegistry *AttestorRegistry) TryPackAcceptOwnership() ([]byte, error) {
	return attestorRegistry.abi.Pack("acceptOwnership")
}

// PackAddAttestor is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xe0cae635.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function addAttestor(address attestor) returns()
func (attestorRegistry *AttestorRegistry) PackAddAttestor(attestor common.Address) []byte {
	enc, err := attestorRegistry.abi.Pack("addAttestor", attestor)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackAddAttestor is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xe0cae635.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function addAttestor(address attestor) returns()
func (attestorRegistry *AttestorRegistry) TryPackAddAttestor(attestor common.Address) ([]byte, error) {
	return attestorRegistry.abi.Pack("addAttestor", attestor)
}

// PackAttestorCount is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x631255f2.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function attestorCount() view returns(uint256)
func (attestorRegistry *AttestorRegistry) PackAttestorCount() []byte {
	enc, err := attestorRegistry.abi.Pack("attestorCount")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackAttestorCount is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x631255f2.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function attestorCount() view returns(uint256)
func (attestorRegistry *AttestorRegistry) TryPackAttestorCount() ([]byte, error) {
	return attestorRegistry.abi.Pack("attestorCount")
}

// UnpackAttestorCount is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x631255f2.
//
// Solidity: function attestorCount() view returns(uint256)
func (attestorRegistry *AttestorRegistry) UnpackAttestorCount(data []byte) (*big.Int, error) {
	out, err := attestorRegistry.abi.Unpack("attestorCount", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackIsAttestor is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2e2f4e24.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function isAttestor(address attestor) view returns(bool)
func (attestorRegistry *AttestorRegistry) PackIsAttestor(attestor common.Address) []byte {
	enc, err := attestorRegistry.abi.Pack("isAttestor", attestor)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackIsAttestor is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2e2f4e24.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function isAttestor(address attestor) view returns(bool)
func (attestorRegistry *AttestorRegistry) TryPackIsAttestor(attestor common.Address) ([]byte, error) {
	return attestorRegistry.abi.Pack("isAttestor", attestor)
}

// UnpackIsAttestor is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x2e2f4e24.
//
// Solidity: function isAttestor(address attestor) view returns(bool)
func (attestorRegistry *AttestorRegistry) UnpackIsAttestor(data []byte) (bool, error) {
	out, err := attestorRegistry.abi.Unpack("isAttestor", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackOwner is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x8da5cb5b.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function owner() view returns(address)
func (attestorRegistry *AttestorRegistry) PackOwner() []byte {
	enc, err := attestorRegistry.abi.Pack("owner")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackOwner is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x8da5cb5b.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function owner() view returns(address)
func (attestorRegistry *AttestorRegistry) TryPackOwner() ([]byte, error) {
	return attestorRegistry.abi.Pack("owner")
}

// UnpackOwner is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x8da5cb5b.
//
// Solidity: function owner() view returns(address)
func (attestorRegistry *AttestorRegistry) UnpackOwner(data []byte) (common.Address, error) {
	out, err := attestorRegistry.abi.Unpack("owner", data)
	if err != nil {
		return *new(common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	return out0, nil
}

// PackPendingOwner is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xe30c3978.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function pendingOwner() view returns(address)
func (attestorRegistry *AttestorRegistry) PackPendingOwner() []byte {
	enc, err := attestorRegistry.abi.Pack("pendingOwner")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackPendingOwner is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xe30c3978.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function pendingOwner() view returns(address)
func (attestorRegistry *AttestorRegistry) TryPackPendingOwner() ([]byte, error) {
	return attestorRegistry.abi.Pack("pendingOwner")
}

// UnpackPendingOwner is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xe30c3978.
//
// Solidity: function pendingOwner() view returns(address)
func (attestorRegistry *AttestorRegistry) UnpackPendingOwner(data []byte) (common.Address, error) {
	out, err := attestorRegistry.abi.Unpack("pendingOwner", data)
	if err != nil {
		return *new(common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	return out0, nil
}

// PackRemoveAttestor is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xb3912023.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function removeAttestor(address attestor) returns()
func (attestorRegistry *AttestorRegistry) PackRemoveAttestor(attestor common.Address) []byte {
	enc, err := attestorRegistry.abi.Pack("removeAttestor", attestor)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRemoveAttestor is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xb3912023.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function removeAttestor(address attestor) returns()
func (attestorRegistry *AttestorRegistry) TryPackRemoveAttestor(attestor common.Address) ([]byte, error) {
	return attestorRegistry.abi.Pack("removeAttestor", attestor)
}

// PackRenounceOwnership is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x715018a6.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function renounceOwnership() returns()
func (attestorRegistry *AttestorRegistry) PackRenounceOwnership() []byte {
	enc, err := attestorRegistry.abi.Pack("renounceOwnership")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRenounceOwnership is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x715018a6.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function renounceOwnership() returns()
func (attestorRegistry *AttestorRegistry) TryPackRenounceOwnership() ([]byte, error) {
	return attestorRegistry.abi.Pack("renounceOwnership")
}

// PackSetThreshold is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x960bfe04.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function setThreshold(uint256 k) returns()
func (attestorRegistry *AttestorRegistry) PackSetThreshold(k *big.Int) []byte {
	enc, err := attestorRegistry.abi.Pack("setThreshold", k)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSetThreshold is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x960bfe04.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function setThreshold(uint256 k) returns()
func (attestorRegistry *AttestorRegistry) TryPackSetThreshold(k *big.Int) ([]byte, error) {
	return attestorRegistry.abi.Pack("setThreshold", k)
}

// PackThreshold is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x42cde4e8.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function threshold() view returns(uint256)
func (attestorRegistry *AttestorRegistry) PackThreshold() []byte {
	enc, err := attestorRegistry.abi.Pack("threshold")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackThreshold is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x42cde4e8.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function threshold() view returns(uint256)
func (attestorRegistry *AttestorRegistry) TryPackThreshold() ([]byte, error) {
	return attestorRegistry.abi.Pack("threshold")
}

// UnpackThreshold is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x42cde4e8.
//
// Solidity: function threshold() view returns(uint256)
func (attestorRegistry *AttestorRegistry) UnpackThreshold(data []byte) (*big.Int, error) {
	out, err := attestorRegistry.abi.Unpack("threshold", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackTransferOwnership is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf2fde38b.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function transferOwnership(address newOwner) returns()
func (attestorRegistry *AttestorRegistry) PackTransferOwnership(newOwner common.Address) []byte {
	enc, err := attestorRegistry.abi.Pack("transferOwnership", newOwner)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackTransferOwnership is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf2fde38b.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function transferOwnership(address newOwner) returns()
func (attestorRegistry *AttestorRegistry) TryPackTransferOwnership(newOwner common.Address) ([]byte, error) {
	return attestorRegistry.abi.Pack("transferOwnership", newOwner)
}

// PackVerify is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xfb0fe3f4.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function verify(bytes32 digest, bytes[] signatures) view returns(address[] signers)
func (attestorRegistry *AttestorRegistry) PackVerify(digest [32]byte, signatures [][]byte) []byte {
	enc, err := attestorRegistry.abi.Pack("verify", digest, signatures)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackVerify is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xfb0fe3f4.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function verify(bytes32 digest, bytes[] signatures) view returns(address[] signers)
func (attestorRegistry *AttestorRegistry) TryPackVerify(digest [32]byte, signatures [][]byte) ([]byte, error) {
	return attestorRegistry.abi.Pack("verify", digest, signatures)
}

// UnpackVerify is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xfb0fe3f4.
//
// Solidity: function verify(bytes32 digest, bytes[] signatures) view returns(address[] signers)
func (attestorRegistry *AttestorRegistry) UnpackVerify(data []byte) ([]common.Address, error) {
	out, err := attestorRegistry.abi.Unpack("verify", data)
	if err != nil {
		return *new([]common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new([]common.Address)).(*[]common.Address)
	return out0, nil
}

// AttestorRegistryAttestorAdded represents a AttestorAdded event raised by the AttestorRegistry contract.
type AttestorRegistryAttestorAdded struct {
	Attestor common.Address
	Raw      *types.Log // Blockchain specific contextual infos
}

const AttestorRegistryAttestorAddedEventName = "AttestorAdded"

// ContractEventName returns the user-defined event name.
func (AttestorRegistryAttestorAdded) ContractEventName() string {
	return AttestorRegistryAttestorAddedEventName
}

// UnpackAttestorAddedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event AttestorAdded(address indexed attestor)
func (attestorRegistry *AttestorRegistry) UnpackAttestorAddedEvent(log *types.Log) (*AttestorRegistryAttestorAdded, error) {
	event := "AttestorAdded"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != attestorRegistry.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(AttestorRegistryAttestorAdded)
	if len(log.Data) > 0 {
		if err := attestorRegistry.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range attestorRegistry.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// AttestorRegistryAttestorRemoved represents a AttestorRemoved event raised by the AttestorRegistry contract.
type AttestorRegistryAttestorRemoved struct {
	Attestor common.Address
	Raw      *types.Log // Blockchain specific contextual infos
}

const AttestorRegistryAttestorRemovedEventName = "AttestorRemoved"

// ContractEventName returns the user-defined event name.
func (AttestorRegistryAttestorRemoved) ContractEventName() string {
	return AttestorRegistryAttestorRemovedEventName
}

// UnpackAttestorRemovedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event AttestorRemoved(address indexed attestor)
func (attestorRegistry *AttestorRegistry) UnpackAttestorRemovedEvent(log *types.Log) (*AttestorRegistryAttestorRemoved, error) {
	event := "AttestorRemoved"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != attestorRegistry.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(AttestorRegistryAttestorRemoved)
	if len(log.Data) > 0 {
		if err := attestorRegistry.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range attestorRegistry.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// AttestorRegistryOwnershipTransferStarted represents a OwnershipTransferStarted event raised by the AttestorRegistry contract.
type AttestorRegistryOwnershipTransferStarted struct {
	PreviousOwner common.Address
	NewOwner      common.Address
	Raw           *types.Log // Blockchain specific contextual infos
}

const AttestorRegistryOwnershipTransferStartedEventName = "OwnershipTransferStarted"

// ContractEventName returns the user-defined event name.
func (AttestorRegistryOwnershipTransferStarted) ContractEventName() string {
	return AttestorRegistryOwnershipTransferStartedEventName
}

// UnpackOwnershipTransferStartedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner)
func (attestorRegistry *AttestorRegistry) UnpackOwnershipTransferStartedEvent(log *types.Log) (*AttestorRegistryOwnershipTransferStarted, error) {
	event := "OwnershipTransferStarted"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != attestorRegistry.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(AttestorRegistryOwnershipTransferStarted)
	if len(log.Data) > 0 {
		if err := attestorRegistry.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range attestorRegistry.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// AttestorRegistryOwnershipTransferred represents a OwnershipTransferred event raised by the AttestorRegistry contract.
type AttestorRegistryOwnershipTransferred struct {
	PreviousOwner common.Address
	NewOwner      common.Address
	Raw           *types.Log // Blockchain specific contextual infos
}

const AttestorRegistryOwnershipTransferredEventName = "OwnershipTransferred"

// ContractEventName returns the user-defined event name.
func (AttestorRegistryOwnershipTransferred) ContractEventName() string {
	return AttestorRegistryOwnershipTransferredEventName
}

// UnpackOwnershipTransferredEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event OwnershipTransferred(address indexed previousOwner, address indexed newOwner)
func (attestorRegistry *AttestorRegistry) UnpackOwnershipTransferredEvent(log *types.Log) (*AttestorRegistryOwnershipTransferred, error) {
	event := "OwnershipTransferred"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != attestorRegistry.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(AttestorRegistryOwnershipTransferred)
	if len(log.Data) > 0 {
		if err := attestorRegistry.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range attestorRegistry.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// AttestorRegistryThresholdChanged represents a ThresholdChanged event raised by the AttestorRegistry contract.
type AttestorRegistryThresholdChanged struct {
	Previous  *big.Int
	Threshold *big.Int
	Raw       *types.Log // Blockchain specific contextual infos
}

const AttestorRegistryThresholdChangedEventName = "ThresholdChanged"

// ContractEventName returns the user-defined event name.
func (AttestorRegistryThresholdChanged) ContractEventName() string {
	return AttestorRegistryThresholdChangedEventName
}

// UnpackThresholdChangedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event ThresholdChanged(uint256 previous, uint256 threshold)
func (attestorRegistry *AttestorRegistry) UnpackThresholdChangedEvent(log *types.Log) (*AttestorRegistryThresholdChanged, error) {
	event := "ThresholdChanged"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != attestorRegistry.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(AttestorRegistryThresholdChanged)
	if len(log.Data) > 0 {
		if err := attestorRegistry.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range attestorRegistry.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// UnpackError attempts to decode the provided error data using user-defined
// error definitions.
func (attestorRegistry *AttestorRegistry) UnpackError(raw []byte) (any, error) {
	if bytes.Equal(raw[:4], attestorRegistry.abi.Errors["AlreadyAttestor"].ID.Bytes()[:4]) {
		return attestorRegistry.UnpackAlreadyAttestorError(raw[4:])
	}
	if bytes.Equal(raw[:4], attestorRegistry.abi.Errors["BelowThreshold"].ID.Bytes()[:4]) {
		return attestorRegistry.UnpackBelowThresholdError(raw[4:])
	}
	if bytes.Equal(raw[:4], attestorRegistry.abi.Errors["DuplicateAttestor"].ID.Bytes()[:4]) {
		return attestorRegistry.UnpackDuplicateAttestorError(raw[4:])
	}
	if bytes.Equal(raw[:4], attestorRegistry.abi.Errors["InvalidSignature"].ID.Bytes()[:4]) {
		return attestorRegistry.UnpackInvalidSignatureError(raw[4:])
	}
	if bytes.Equal(raw[:4], attestorRegistry.abi.Errors["InvalidThreshold"].ID.Bytes()[:4]) {
		return attestorRegistry.UnpackInvalidThresholdError(raw[4:])
	}
	if bytes.Equal(raw[:4], attestorRegistry.abi.Errors["NotAttestor"].ID.Bytes()[:4]) {
		return attestorRegistry.UnpackNotAttestorError(raw[4:])
	}
	if bytes.Equal(raw[:4], attestorRegistry.abi.Errors["OwnableInvalidOwner"].ID.Bytes()[:4]) {
		return attestorRegistry.UnpackOwnableInvalidOwnerError(raw[4:])
	}
	if bytes.Equal(raw[:4], attestorRegistry.abi.Errors["OwnableUnauthorizedAccount"].ID.Bytes()[:4]) {
		return attestorRegistry.UnpackOwnableUnauthorizedAccountError(raw[4:])
	}
	if bytes.Equal(raw[:4], attestorRegistry.abi.Errors["TooManySignatures"].ID.Bytes()[:4]) {
		return attestorRegistry.UnpackTooManySignaturesError(raw[4:])
	}
	if bytes.Equal(raw[:4], attestorRegistry.abi.Errors["UnregisteredAttestor"].ID.Bytes()[:4]) {
		return attestorRegistry.UnpackUnregisteredAttestorError(raw[4:])
	}
	if bytes.Equal(raw[:4], attestorRegistry.abi.Errors["ZeroAttestor"].ID.Bytes()[:4]) {
		return attestorRegistry.UnpackZeroAttestorError(raw[4:])
	}
	return nil, errors.New("Unknown error")
}

// AttestorRegistryAlreadyAttestor represents a AlreadyAttestor error raised by the AttestorRegistry contract.
type AttestorRegistryAlreadyAttestor struct {
	Attestor common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error AlreadyAttestor(address attestor)
func AttestorRegistryAlreadyAttestorErrorID() common.Hash {
	return common.HexToHash("0x59432012829b8288d98cb8b6884c559b2d8be30e5cb0bf0de19c5a64087a952e")
}

// UnpackAlreadyAttestorError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error AlreadyAttestor(address attestor)
func (attestorRegistry *AttestorRegistry) UnpackAlreadyAttestorError(raw []byte) (*AttestorRegistryAlreadyAttestor, error) {
	out := new(AttestorRegistryAlreadyAttestor)
	if err := attestorRegistry.abi.UnpackIntoInterface(out, "AlreadyAttestor", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// AttestorRegistryBelowThreshold represents a BelowThreshold error raised by the AttestorRegistry contract.
type AttestorRegistryBelowThreshold struct {
	Signatures *big.Int
	Threshold  *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error BelowThreshold(uint256 signatures, uint256 threshold)
func AttestorRegistryBelowThresholdErrorID() common.Hash {
	return common.HexToHash("0x8b05c814296d98f4f07b3bc12cb7a432374a44716d3cdbb2055265f66227d36f")
}

// UnpackBelowThresholdError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error BelowThreshold(uint256 signatures, uint256 threshold)
func (attestorRegistry *AttestorRegistry) UnpackBelowThresholdError(raw []byte) (*AttestorRegistryBelowThreshold, error) {
	out := new(AttestorRegistryBelowThreshold)
	if err := attestorRegistry.abi.UnpackIntoInterface(out, "BelowThreshold", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// AttestorRegistryDuplicateAttestor represents a DuplicateAttestor error raised by the AttestorRegistry contract.
type AttestorRegistryDuplicateAttestor struct {
	Signer common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error DuplicateAttestor(address signer)
func AttestorRegistryDuplicateAttestorErrorID() common.Hash {
	return common.HexToHash("0xc4e5be43a3ac06469f84a0a84326a24db4fb536304b791fe4214a7499e061d11")
}

// UnpackDuplicateAttestorError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error DuplicateAttestor(address signer)
func (attestorRegistry *AttestorRegistry) UnpackDuplicateAttestorError(raw []byte) (*AttestorRegistryDuplicateAttestor, error) {
	out := new(AttestorRegistryDuplicateAttestor)
	if err := attestorRegistry.abi.UnpackIntoInterface(out, "DuplicateAttestor", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// AttestorRegistryInvalidSignature represents a InvalidSignature error raised by the AttestorRegistry contract.
type AttestorRegistryInvalidSignature struct {
	Index *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error InvalidSignature(uint256 index)
func AttestorRegistryInvalidSignatureErrorID() common.Hash {
	return common.HexToHash("0x52bf9848f4f569cd5e845a26f8524878f8ac004dcaace7433d78683624c84a76")
}

// UnpackInvalidSignatureError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error InvalidSignature(uint256 index)
func (attestorRegistry *AttestorRegistry) UnpackInvalidSignatureError(raw []byte) (*AttestorRegistryInvalidSignature, error) {
	out := new(AttestorRegistryInvalidSignature)
	if err := attestorRegistry.abi.UnpackIntoInterface(out, "InvalidSignature", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// AttestorRegistryInvalidThreshold represents a InvalidThreshold error raised by the AttestorRegistry contract.
type AttestorRegistryInvalidThreshold struct {
	Threshold *big.Int
	Attestors *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error InvalidThreshold(uint256 threshold, uint256 attestors)
func AttestorRegistryInvalidThresholdErrorID() common.Hash {
	return common.HexToHash("0x7b7a98f144b22ac349117faf884147efe6b9d8f459322b9ed0cb76310884f093")
}

// UnpackInvalidThresholdError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error InvalidThreshold(uint256 threshold, uint256 attestors)
func (attestorRegistry *AttestorRegistry) UnpackInvalidThresholdError(raw []byte) (*AttestorRegistryInvalidThreshold, error) {
	out := new(AttestorRegistryInvalidThreshold)
	if err := attestorRegistry.abi.UnpackIntoInterface(out, "InvalidThreshold", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// AttestorRegistryNotAttestor represents a NotAttestor error raised by the AttestorRegistry contract.
type AttestorRegistryNotAttestor struct {
	Attestor common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error NotAttestor(address attestor)
func AttestorRegistryNotAttestorErrorID() common.Hash {
	return common.HexToHash("0x6ae28ec9671c694a3ad549b95511da51bc48bb0398b8fdd6414818fa60743fb1")
}

// UnpackNotAttestorError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error NotAttestor(address attestor)
func (attestorRegistry *AttestorRegistry) UnpackNotAttestorError(raw []byte) (*AttestorRegistryNotAttestor, error) {
	out := new(AttestorRegistryNotAttestor)
	if err := attestorRegistry.abi.UnpackIntoInterface(out, "NotAttestor", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// AttestorRegistryOwnableInvalidOwner represents a OwnableInvalidOwner error raised by the AttestorRegistry contract.
type AttestorRegistryOwnableInvalidOwner struct {
	Owner common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error OwnableInvalidOwner(address owner)
func AttestorRegistryOwnableInvalidOwnerErrorID() common.Hash {
	return common.HexToHash("0x1e4fbdf7f3ef8bcaa855599e3abf48b232380f183f08f6f813d9ffa5bd585188")
}

// UnpackOwnableInvalidOwnerError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error OwnableInvalidOwner(address owner)
func (attestorRegistry *AttestorRegistry) UnpackOwnableInvalidOwnerError(raw []byte) (*AttestorRegistryOwnableInvalidOwner, error) {
	out := new(AttestorRegistryOwnableInvalidOwner)
	if err := attestorRegistry.abi.UnpackIntoInterface(out, "OwnableInvalidOwner", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// AttestorRegistryOwnableUnauthorizedAccount represents a OwnableUnauthorizedAccount error raised by the AttestorRegistry contract.
type AttestorRegistryOwnableUnauthorizedAccount struct {
	Account common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error OwnableUnauthorizedAccount(address account)
func AttestorRegistryOwnableUnauthorizedAccountErrorID() common.Hash {
	return common.HexToHash("0x118cdaa7a341953d1887a2245fd6665d741c67c8c50581daa59e1d03373fa188")
}

// UnpackOwnableUnauthorizedAccountError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error OwnableUnauthorizedAccount(address account)
func (attestorRegistry *AttestorRegistry) UnpackOwnableUnauthorizedAccountError(raw []byte) (*AttestorRegistryOwnableUnauthorizedAccount, error) {
	out := new(AttestorRegistryOwnableUnauthorizedAccount)
	if err := attestorRegistry.abi.UnpackIntoInterface(out, "OwnableUnauthorizedAccount", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// AttestorRegistryTooManySignatures represents a TooManySignatures error raised by the AttestorRegistry contract.
type AttestorRegistryTooManySignatures struct {
	Signatures *big.Int
	Max        *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error TooManySignatures(uint256 signatures, uint256 max)
func AttestorRegistryTooManySignaturesErrorID() common.Hash {
	return common.HexToHash("0x3f8ea0257f66027f0f5369a984fe6810ff2d585c8413731f43f460e8eacb8aeb")
}

// UnpackTooManySignaturesError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error TooManySignatures(uint256 signatures, uint256 max)
func (attestorRegistry *AttestorRegistry) UnpackTooManySignaturesError(raw []byte) (*AttestorRegistryTooManySignatures, error) {
	out := new(AttestorRegistryTooManySignatures)
	if err := attestorRegistry.abi.UnpackIntoInterface(out, "TooManySignatures", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// AttestorRegistryUnregisteredAttestor represents a UnregisteredAttestor error raised by the AttestorRegistry contract.
type AttestorRegistryUnregisteredAttestor struct {
	Signer common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error UnregisteredAttestor(address signer)
func AttestorRegistryUnregisteredAttestorErrorID() common.Hash {
	return common.HexToHash("0xb900c065725d06e3c10ad4553c884e580edadef44dbc483a2fd75e0cfbf52a69")
}

// UnpackUnregisteredAttestorError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error UnregisteredAttestor(address signer)
func (attestorRegistry *AttestorRegistry) UnpackUnregisteredAttestorError(raw []byte) (*AttestorRegistryUnregisteredAttestor, error) {
	out := new(AttestorRegistryUnregisteredAttestor)
	if err := attestorRegistry.abi.UnpackIntoInterface(out, "UnregisteredAttestor", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// AttestorRegistryZeroAttestor represents a ZeroAttestor error raised by the AttestorRegistry contract.
type AttestorRegistryZeroAttestor struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ZeroAttestor()
func AttestorRegistryZeroAttestorErrorID() common.Hash {
	return common.HexToHash("0xfccaaaf47da598ad7405aaf249ae36647f7199444bb6b8057bec61a9629a397d")
}

// UnpackZeroAttestorError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ZeroAttestor()
func (attestorRegistry *AttestorRegistry) UnpackZeroAttestorError(raw []byte) (*AttestorRegistryZeroAttestor, error) {
	out := new(AttestorRegistryZeroAttestor)
	if err := attestorRegistry.abi.UnpackIntoInterface(out, "ZeroAttestor", raw); err != nil {
		return nil, err
	}
	return out, nil
}
