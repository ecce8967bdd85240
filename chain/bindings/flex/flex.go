// Code generated via abigen V2 - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package flex

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

// FLEXReward is an auto generated low-level Go binding around an user-defined struct.
type FLEXReward struct {
	RecordId [32]byte
	Provider common.Address
	Amount   *big.Int
	Kind     uint8
	Evidence [32]byte
}

// FLEXRewardBatch is an auto generated low-level Go binding around an user-defined struct.
type FLEXRewardBatch struct {
	BatchId [32]byte
	Rewards []FLEXReward
}

// FLEXSlash is an auto generated low-level Go binding around an user-defined struct.
type FLEXSlash struct {
	RecordId    [32]byte
	Provider    common.Address
	Award       [32]byte
	AwardPrice  *big.Int
	WindowValue *big.Int
	Amount      *big.Int
	Evidence    [32]byte
}

// FLEXMetaData contains all meta data concerning the FLEX contract.
var FLEXMetaData = bind.MetaData{
	ABI: "[{\"inputs\":[{\"internalType\":\"contractAttestorRegistry\",\"name\":\"registry_\",\"type\":\"address\"}],\"stateMutability\":\"nonpayable\",\"type\":\"constructor\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"requestId\",\"type\":\"bytes32\"}],\"name\":\"AlreadyReserved\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"award\",\"type\":\"bytes32\"}],\"name\":\"AwardAlreadySlashed\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"batchId\",\"type\":\"bytes32\"}],\"name\":\"BatchAlreadyRewarded\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"batchId\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"rewardsHash\",\"type\":\"bytes32\"}],\"name\":\"BatchIdMismatch\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"signatures\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"threshold\",\"type\":\"uint256\"}],\"name\":\"BelowThreshold\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"signer\",\"type\":\"address\"}],\"name\":\"DuplicateAttestor\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"spender\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"allowance\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"needed\",\"type\":\"uint256\"}],\"name\":\"ERC20InsufficientAllowance\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"sender\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"balance\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"needed\",\"type\":\"uint256\"}],\"name\":\"ERC20InsufficientBalance\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"approver\",\"type\":\"address\"}],\"name\":\"ERC20InvalidApprover\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"receiver\",\"type\":\"address\"}],\"name\":\"ERC20InvalidReceiver\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"sender\",\"type\":\"address\"}],\"name\":\"ERC20InvalidSender\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"spender\",\"type\":\"address\"}],\"name\":\"ERC20InvalidSpender\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"epoch\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"cap\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"wanted\",\"type\":\"uint256\"}],\"name\":\"EmissionCapExceeded\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"EmptyBatch\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"available\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"wanted\",\"type\":\"uint256\"}],\"name\":\"InsufficientStake\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint8\",\"name\":\"kind\",\"type\":\"uint8\"}],\"name\":\"InvalidKind\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"awardPrice\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"windowValue\",\"type\":\"uint256\"}],\"name\":\"InvalidShare\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"InvalidShortString\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"index\",\"type\":\"uint256\"}],\"name\":\"InvalidSignature\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"unlockAt\",\"type\":\"uint256\"}],\"name\":\"NotUnlocked\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"recordId\",\"type\":\"bytes32\"}],\"name\":\"RecordUsed\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint8\",\"name\":\"bits\",\"type\":\"uint8\"},{\"internalType\":\"uint256\",\"name\":\"value\",\"type\":\"uint256\"}],\"name\":\"SafeCastOverflowedUintDowncast\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"string\",\"name\":\"str\",\"type\":\"string\"}],\"name\":\"StringTooLong\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"signatures\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"max\",\"type\":\"uint256\"}],\"name\":\"TooManySignatures\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"signer\",\"type\":\"address\"}],\"name\":\"UnregisteredAttestor\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"ZeroAmount\",\"type\":\"error\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"owner\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"spender\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"value\",\"type\":\"uint256\"}],\"name\":\"Approval\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[],\"name\":\"EIP712DomainChanged\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"requestId\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"bytes32\",\"name\":\"awardsRoot\",\"type\":\"bytes32\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"Reserved\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"batchId\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"submitter\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"records\",\"type\":\"uint256\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"RewardBatchMinted\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"recordId\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"indexed\":false,\"internalType\":\"uint8\",\"name\":\"kind\",\"type\":\"uint8\"},{\"indexed\":false,\"internalType\":\"bytes32\",\"name\":\"evidence\",\"type\":\"bytes32\"}],\"name\":\"Rewarded\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"recordId\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"award\",\"type\":\"bytes32\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"share\",\"type\":\"uint256\"}],\"name\":\"Slashed\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"Staked\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"from\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"to\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"value\",\"type\":\"uint256\"}],\"name\":\"Transfer\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"unlockAt\",\"type\":\"uint256\"}],\"name\":\"UnstakeRequested\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"Withdrawn\",\"type\":\"event\"},{\"inputs\":[],\"name\":\"EPOCH\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"HALVING_EPOCHS\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"INITIAL_EPOCH_CAP\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"KIND_AVAILABILITY\",\"outputs\":[{\"internalType\":\"uint8\",\"name\":\"\",\"type\":\"uint8\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"KIND_DELIVERY\",\"outputs\":[{\"internalType\":\"uint8\",\"name\":\"\",\"type\":\"uint8\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"REWARD_BATCH_TYPEHASH\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"REWARD_TYPEHASH\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"SLASH_TYPEHASH\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"UNBONDING\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"owner\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"spender\",\"type\":\"address\"}],\"name\":\"allowance\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"spender\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"value\",\"type\":\"uint256\"}],\"name\":\"approve\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"epoch\",\"type\":\"uint256\"}],\"name\":\"availabilityMinted\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"award\",\"type\":\"bytes32\"}],\"name\":\"awardSlashed\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"}],\"name\":\"balanceOf\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"currentEpoch\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"decimals\",\"outputs\":[{\"internalType\":\"uint8\",\"name\":\"\",\"type\":\"uint8\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"domainSeparator\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"eip712Domain\",\"outputs\":[{\"internalType\":\"bytes1\",\"name\":\"fields\",\"type\":\"bytes1\"},{\"internalType\":\"string\",\"name\":\"name\",\"type\":\"string\"},{\"internalType\":\"string\",\"name\":\"version\",\"type\":\"string\"},{\"internalType\":\"uint256\",\"name\":\"chainId\",\"type\":\"uint256\"},{\"internalType\":\"address\",\"name\":\"verifyingContract\",\"type\":\"address\"},{\"internalType\":\"bytes32\",\"name\":\"salt\",\"type\":\"bytes32\"},{\"internalType\":\"uint256[]\",\"name\":\"extensions\",\"type\":\"uint256[]\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"epoch\",\"type\":\"uint256\"}],\"name\":\"epochCap\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"pure\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"genesis\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"name\",\"outputs\":[{\"internalType\":\"string\",\"name\":\"\",\"type\":\"string\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"recordId\",\"type\":\"bytes32\"}],\"name\":\"recordUsed\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"registry\",\"outputs\":[{\"internalType\":\"contractAttestorRegistry\",\"name\":\"\",\"type\":\"address\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"requestUnstake\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"requestId\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"awardsRoot\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"reserve\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"},{\"internalType\":\"bytes32\",\"name\":\"requestId\",\"type\":\"bytes32\"}],\"name\":\"reserved\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"components\":[{\"internalType\":\"bytes32\",\"name\":\"batchId\",\"type\":\"bytes32\"},{\"components\":[{\"internalType\":\"bytes32\",\"name\":\"recordId\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"internalType\":\"uint8\",\"name\":\"kind\",\"type\":\"uint8\"},{\"internalType\":\"bytes32\",\"name\":\"evidence\",\"type\":\"bytes32\"}],\"internalType\":\"structFLEX.Reward[]\",\"name\":\"rewards\",\"type\":\"tuple[]\"}],\"internalType\":\"structFLEX.RewardBatch\",\"name\":\"batch\",\"type\":\"tuple\"},{\"internalType\":\"bytes[]\",\"name\":\"signatures\",\"type\":\"bytes[]\"}],\"name\":\"reward\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"total\",\"type\":\"uint256\"}],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"components\":[{\"internalType\":\"bytes32\",\"name\":\"batchId\",\"type\":\"bytes32\"},{\"components\":[{\"internalType\":\"bytes32\",\"name\":\"recordId\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"internalType\":\"uint8\",\"name\":\"kind\",\"type\":\"uint8\"},{\"internalType\":\"bytes32\",\"name\":\"evidence\",\"type\":\"bytes32\"}],\"internalType\":\"structFLEX.Reward[]\",\"name\":\"rewards\",\"type\":\"tuple[]\"}],\"internalType\":\"structFLEX.RewardBatch\",\"name\":\"batch\",\"type\":\"tuple\"}],\"name\":\"rewardDigest\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"batchId\",\"type\":\"bytes32\"}],\"name\":\"rewarded\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"components\":[{\"internalType\":\"bytes32\",\"name\":\"recordId\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"},{\"internalType\":\"bytes32\",\"name\":\"award\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"awardPrice\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"windowValue\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"internalType\":\"bytes32\",\"name\":\"evidence\",\"type\":\"bytes32\"}],\"internalType\":\"structFLEX.Slash\",\"name\":\"s\",\"type\":\"tuple\"},{\"internalType\":\"bytes[]\",\"name\":\"signatures\",\"type\":\"bytes[]\"}],\"name\":\"slash\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"burned\",\"type\":\"uint256\"}],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"components\":[{\"internalType\":\"bytes32\",\"name\":\"recordId\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"},{\"internalType\":\"bytes32\",\"name\":\"award\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"awardPrice\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"windowValue\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"internalType\":\"bytes32\",\"name\":\"evidence\",\"type\":\"bytes32\"}],\"internalType\":\"structFLEX.Slash\",\"name\":\"s\",\"type\":\"tuple\"}],\"name\":\"slashDigest\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"stake\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"}],\"name\":\"stakes\",\"outputs\":[{\"internalType\":\"uint128\",\"name\":\"bonded\",\"type\":\"uint128\"},{\"internalType\":\"uint128\",\"name\":\"unbonding\",\"type\":\"uint128\"},{\"internalType\":\"uint64\",\"name\":\"unlockAt\",\"type\":\"uint64\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"symbol\",\"outputs\":[{\"internalType\":\"string\",\"name\":\"\",\"type\":\"string\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"totalSupply\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"to\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"value\",\"type\":\"uint256\"}],\"name\":\"transfer\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"from\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"to\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"value\",\"type\":\"uint256\"}],\"name\":\"transferFrom\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"withdraw\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"stateMutability\":\"nonpayable\",\"type\":\"function\"}]",
	ID:  "aeb90b70018245d21b90c5ef55edcff64c",
	Bin: "0x6101a080604052346104ad576020816127dc803803809161002082856104b1565b8339810103126104ad57516001600160a01b03811681036104ad576040516100496040826104b1565b600d815260208101906c0cee4d2c8dad2dce8408c988ab609b1b8252604051916100746040846104b1565b600183526020830191603160f81b83526040516100926040826104b1565b600d81526c0cee4d2c8dad2dce8408c988ab609b1b6020820152604051906100bb6040836104b1565b600482526308c988ab60e31b60208301528051906001600160401b0382116103a85760035490600182811c921680156104a3575b602083101461038a5781601f84931161042d575b50602090601f83116001146103c7575f926103bc575b50508160011b915f199060031b1c1916176003555b8051906001600160401b0382116103a85760045490600182811c9216801561039e575b602083101461038a5781601f849311610314575b50602090601f83116001146102ae575f926102a3575b50508160011b915f199060031b1c1916176004555b610199816104d4565b610120526101a6846104d4565b61014052519020918260e05251902080610100524660a0526040519060208201927f8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f8452604083015260608201524660808201523060a082015260a0815261020f60c0826104b1565b5190206080523060c05261016052426101805260405161229c908161054082396080518161215b015260a05181612212015260c0518161212c015260e051816121aa015261010051816121d001526101205181610fc901526101405181610ff201526101605181818161041a01528181610919015261112b0152610180518181816106ed01528181610cf3015261116a0152f35b015190505f8061017b565b60045f9081528281209350601f198516905b8181106102fc57509084600195949392106102e4575b505050811b01600455610190565b01515f1960f88460031b161c191690555f80806102d6565b929360206001819287860151815501950193016102c0565b828111156101655760045f52909150601f830160051c7f8a35acfbc15ff81a39ae7d344fd709f28e8600b4aa8c65c6b64bfe7fe36bd19b60208510610382575b849392601f0160051c82900391015f5b828110610372575050610165565b5f81830155859450600101610364565b5f9150610354565b634e487b7160e01b5f52602260045260245ffd5b91607f1691610151565b634e487b7160e01b5f52604160045260245ffd5b015190505f80610119565b60035f9081528281209350601f198516905b81811061041557509084600195949392106103fd575b505050811b0160035561012e565b01515f1960f88460031b161c191690555f80806103ef565b929360206001819287860151815501950193016103d9565b828111156101035760035f52909150601f830160051c7fc2575a0e9e593c00f959f8c92f12db2869c3395a3b0502d05e2516446f71f85b6020851061049b575b849392601f0160051c82900391015f5b82811061048b575050610103565b5f8183015585945060010161047d565b5f915061046d565b91607f16916100ef565b5f80fd5b601f909101601f19168101906001600160401b038211908210176103a857604052565b601f8151116104ff5760208151910151602082106104f0571790565b5f198260200360031b1b161790565b604460209160405192839163305a27a960e01b83528160048401528051918291826024860152018484015e5f828201840152601f01601f19168101030190fdfe60806040526004361015610011575f80fd5b5f3560e01c806301da811414611a2d57806306fdde0314611972578063095ea7b3146118e35780630fe7683f146118c657806316934fc41461185157806318160ddd146118345780631dae238214611819578063230957211461169a57806323b872dd1461152457806328d05d4f1461143f578063313ce5671461142457806335cd19a3146113f557806336e39e1f1461139f5780633ccfd60b146112c95780635c2af2aa1461128f578063648229e3146112735780636c5bb392146111dc57806370a0823114611198578063766718081461114f5780637b103999146110ff5780637ce38510146110c557806384b0196e14610fb15780639428746d14610f9357806395d89b4114610e505780639a904bb114610e21578063a0dc275814610e04578063a694fc3a14610d16578063a7f0b3de14610cdc578063a9059cbb14610cab578063bbac9e7c14610c90578063cd4e3b3f14610c6c578063d1fc7bb314610830578063dba74b96146102e2578063dd62ed3e14610274578063f698da2514610252578063f6aea16014610228578063fb01e4e1146101ee5763fb949a30146101bb575f80fd5b346101ea5760206003193601126101ea576004355f526007602052602060ff60405f2054166040519015158152f35b5f80fd5b346101ea575f6003193601126101ea5760206040517f377458c4493fc4d77bae823b15eaec0d04d29b86e371a3d201207882c4fa97098152f35b346101ea5760206003193601126101ea576004355f526009602052602060405f2054604051908152f35b346101ea575f6003193601126101ea57602061026c612115565b604051908152f35b346101ea5760406003193601126101ea5761028d611a8e565b73ffffffffffffffffffffffffffffffffffffffff6102aa611ab1565b91165f52600160205273ffffffffffffffffffffffffffffffffffffffff60405f2091165f52602052602060405f2054604051908152f35b346101ea5760406003193601126101ea5760043567ffffffffffffffff81116101ea5780600401604060031983360301126101ea5760243567ffffffffffffffff81116101ea57610337903690600401611ad4565b909161034760245f950182611be4565b9290918315610808573593845f52600860205260ff60405f2054166107dc5761037084846120ae565b8581036107ad57906103ca5f9260405160208101917f0733b676789fe5ed2ff4594c7a4c1b9bb8ec306cc8a0115092f1c218f8b7688183528960408301526060820152606081526103c2608082611b05565b519020611ecd565b61040160405194859384937ffb0fe3f400000000000000000000000000000000000000000000000000000000855260048501611d0a565b038173ffffffffffffffffffffffffffffffffffffffff7f0000000000000000000000000000000000000000000000000000000000000000165afa80156107a257610782575b505f83815260086020526040812080547fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff001660011790559391845b8186101561069e5760a08602830195863596875f52600760205260ff60405f20541661067257875f52600760205260405f2060017fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff0082541617905560608101359760ff89168099036101ea57604082013593841561064a5760028a03610614578461050c91611bd7565b965b602083013573ffffffffffffffffffffffffffffffffffffffff811681036101ea5773ffffffffffffffffffffffffffffffffffffffff169283156105e8578560806060926105cc837fedaf3b367643074f48de772f1f5b8dc872a31e820e7d4b1ddbc79c9850b7dddd9661058760019c600254611bd7565b600255895f525f60205260405f20828154019055895f7fddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef6020604051868152a3611bd7565b9d604051938452602084015201356040820152a3019492610482565b7fec442f05000000000000000000000000000000000000000000000000000000005f525f60045260245ffd5b9660018a031561050e57897f04818320000000000000000000000000000000000000000000000000000000005f5260045260245ffd5b7f1f2a2005000000000000000000000000000000000000000000000000000000005f5260045ffd5b877f18d92f3a000000000000000000000000000000000000000000000000000000005f5260045260245ffd5b838286836106e4575b6020935060405191825282848301527f027ae4832c51fbd2ccd9fa3b422404411bcfd437a4981ad1019c16cd89c7e68e60403393a3604051908152f35b620151806107127f000000000000000000000000000000000000000000000000000000000000000042611c38565b0461073261071f82611c45565b95825f52600960205260405f2054611bd7565b9480861161074f5750936020945f526009855260405f20556106a7565b85917fee2c6fe7000000000000000000000000000000000000000000000000000000005f5260045260245260445260645ffd5b61079d903d805f833e6107958183611b05565b810190611c68565b610447565b6040513d5f823e3d90fd5b857f23755fc4000000000000000000000000000000000000000000000000000000005f5260045260245260445ffd5b847fe08773a8000000000000000000000000000000000000000000000000000000005f5260045260245ffd5b7fc2e5347d000000000000000000000000000000000000000000000000000000005f5260045ffd5b346101ea57600319360161010081126101ea5760e0136101ea5760e43567ffffffffffffffff81116101ea5761086a903690600401611ad4565b90600435805f52600760205260ff60405f205416610c415760443590815f52600a60205260ff60405f205416610c155760a43590811561064a5760843594851594858015610c0a575b610bd8575f906108c96108c4611e32565b611ecd565b61090060405194859384937ffb0fe3f400000000000000000000000000000000000000000000000000000000855260048501611d0a565b038173ffffffffffffffffffffffffffffffffffffffff7f0000000000000000000000000000000000000000000000000000000000000000165afa80156107a257610bc0575b50805f52600760205260405f2060017fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00825416179055825f52600a60205260405f2060017fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff0082541617905573ffffffffffffffffffffffffffffffffffffffff6109ce611e0f565b165f52600c60205260405f20938454946109fe6fffffffffffffffffffffffffffffffff87169660801c87611bd7565b9160643592838102938185041490151715610b9357610b6657602096610ad39204938481105f14610b47576fffffffffffffffffffffffffffffffff610a88610a9392985b808a11610b3d5782610a5a8b925b82841690611b73565b167fffffffffffffffffffffffffffffffff0000000000000000000000000000000086541617855589611c38565b16825460801c611b73565b6fffffffffffffffffffffffffffffffff7fffffffffffffffffffffffffffffffff0000000000000000000000000000000083549260801b169116179055565b83610b2e575b7f0a571a792dc927e10359c9c0518c3ea76bc7e72987d6393d67bea90656d19638604073ffffffffffffffffffffffffffffffffffffffff610b19611e0f565b169381519087825288820152a4604051908152f35b610b388430612004565b610ad9565b82610a5a82610a51565b50610a936fffffffffffffffffffffffffffffffff610a888698610a43565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52601260045260245ffd5b7f4e487b71000000000000000000000000000000000000000000000000000000005f52601160045260245ffd5b610bd3903d805f833e6107958183611b05565b610946565b867f068f89d2000000000000000000000000000000000000000000000000000000005f5260643560045260245260445ffd5b5086606435116108b3565b507f5c5a2572000000000000000000000000000000000000000000000000000000005f5260045260245ffd5b7f18d92f3a000000000000000000000000000000000000000000000000000000005f5260045260245ffd5b346101ea575f6003193601126101ea57602060405169021e19e0c9bab24000008152f35b346101ea575f6003193601126101ea57602060405160018152f35b346101ea5760406003193601126101ea57610cd1610cc7611a8e565b6024359033611f0e565b602060405160018152f35b346101ea575f6003193601126101ea5760206040517f00000000000000000000000000000000000000000000000000000000000000008152f35b346101ea5760206003193601126101ea57600435801561064a57610d3b813033611f0e565b6fffffffffffffffffffffffffffffffff8111610dd457335f52600c60205260405f206fffffffffffffffffffffffffffffffff610d7e81841682845416611ba5565b167fffffffffffffffffffffffffffffffff000000000000000000000000000000008254161790556040519081527f9e71bc8eea02a63969f509818f2dafb9254532904319f9dbda79b67bd34a5f3d60203392a2005b7f6dfcc650000000000000000000000000000000000000000000000000000000005f52608060045260245260445ffd5b346101ea575f6003193601126101ea576020604051620151808152f35b346101ea5760206003193601126101ea576004355f52600a602052602060ff60405f2054166040519015158152f35b346101ea575f6003193601126101ea576040515f6004548060011c90600181168015610f89575b602083108114610f5c57828552908115610f1a5750600114610ebc575b610eb883610ea481850382611b05565b604051918291602083526020830190611a4b565b0390f35b91905060045f527f8a35acfbc15ff81a39ae7d344fd709f28e8600b4aa8c65c6b64bfe7fe36bd19b915f905b808210610f0057509091508101602001610ea4610e94565b919260018160209254838588010152019101909291610ee8565b7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff001660208086019190915291151560051b84019091019150610ea49050610e94565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52602260045260245ffd5b91607f1691610e77565b346101ea5760206003193601126101ea57602061026c600435611c45565b346101ea575f6003193601126101ea57611069610fed7f0000000000000000000000000000000000000000000000000000000000000000612238565b6110167f0000000000000000000000000000000000000000000000000000000000000000612238565b6020611077604051926110298385611b05565b5f84525f3681376040519586957f0f00000000000000000000000000000000000000000000000000000000000000875260e08588015260e0870190611a4b565b908582036040870152611a4b565b4660608501523060808501525f60a085015283810360c08501528180845192838152019301915f5b8281106110ae57505050500390f35b83518552869550938101939281019260010161109f565b346101ea575f6003193601126101ea5760206040517f0733b676789fe5ed2ff4594c7a4c1b9bb8ec306cc8a0115092f1c218f8b768818152f35b346101ea575f6003193601126101ea57602060405173ffffffffffffffffffffffffffffffffffffffff7f0000000000000000000000000000000000000000000000000000000000000000168152f35b346101ea575f6003193601126101ea5760206201518061118f7f000000000000000000000000000000000000000000000000000000000000000042611c38565b04604051908152f35b346101ea5760206003193601126101ea5773ffffffffffffffffffffffffffffffffffffffff6111c6611a8e565b165f525f602052602060405f2054604051908152f35b346101ea5760206003193601126101ea5760043567ffffffffffffffff81116101ea578060040190604060031982360301126101ea5760209161122e611228602461026c940183611be4565b906120ae565b60405190848201927f0733b676789fe5ed2ff4594c7a4c1b9bb8ec306cc8a0115092f1c218f8b7688184523560408301526060820152606081526103c2608082611b05565b346101ea575f6003193601126101ea57602060405161016d8152f35b346101ea575f6003193601126101ea5760206040517ff5f4042051c843c5759895c8ac3c218780d56520aef901160e2d83ac9256c18c8152f35b346101ea575f6003193601126101ea57335f52600c60205260405f20805460801c80158015611388575b61134e57816fffffffffffffffffffffffffffffffff6020935416905561131b813330611f0e565b6040518181527f7084f5476618d8e60b11ef0d7d3f06914655adb8793e28ff7f018d4c76d505d5833392a2604051908152f35b67ffffffffffffffff6001830154167fd69e0d53000000000000000000000000000000000000000000000000000000005f5260045260245ffd5b5067ffffffffffffffff60018301541642106112f3565b346101ea5760406003193601126101ea5773ffffffffffffffffffffffffffffffffffffffff6113cd611a8e565b165f52600b60205260405f206024355f52602052602060ff60405f2054166040519015158152f35b346101ea5760206003193601126101ea576004355f526008602052602060ff60405f2054166040519015158152f35b346101ea575f6003193601126101ea57602060405160128152f35b346101ea5760606003193601126101ea57604435600435811561064a57335f52600b60205260405f20815f5260205260ff60405f2054166114f957335f52600b60205260405f20815f5260205260405f2060017fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff008254161790556114c38233612004565b60405191602435835260208301527f162aa5a76dc64e79d9c19cfccf879e721b541b6d2045a7ae6d9d9756a4282cc660403393a3005b7f6a8a788c000000000000000000000000000000000000000000000000000000005f5260045260245ffd5b346101ea5760606003193601126101ea5761153d611a8e565b611545611ab1565b6044359073ffffffffffffffffffffffffffffffffffffffff831692835f52600160205260405f2073ffffffffffffffffffffffffffffffffffffffff33165f5260205260405f20547fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff81106115c1575b50610cd19350611f0e565b83811061166657841561163a57331561160e57610cd1945f52600160205260405f2073ffffffffffffffffffffffffffffffffffffffff33165f526020528360405f2091039055846115b6565b7f94280d62000000000000000000000000000000000000000000000000000000005f525f60045260245ffd5b7fe602df05000000000000000000000000000000000000000000000000000000005f525f60045260245ffd5b83907ffb8f41b2000000000000000000000000000000000000000000000000000000005f523360045260245260445260645ffd5b346101ea5760206003193601126101ea57600435335f52600c60205260405f20811561064a576fffffffffffffffffffffffffffffffff8154168083116117e957611732611773916fffffffffffffffffffffffffffffffff6117008187168093611b73565b167fffffffffffffffffffffffffffffffff00000000000000000000000000000000855416178455835460801c611ba5565b82546fffffffffffffffffffffffffffffffff1660809190911b7fffffffffffffffffffffffffffffffff0000000000000000000000000000000016178255565b62093a80420190814211610b935760010167ffffffffffffffff82167fffffffffffffffffffffffffffffffffffffffffffffffff000000000000000082541617905560405191825260208201527f57e41df54512c76148b5ba9b643d149752b0d35e493b969bd017d0a3fe5228cf60403392a2005b90507f45be0a26000000000000000000000000000000000000000000000000000000005f5260045260245260445ffd5b346101ea575f6003193601126101ea57602060405160028152f35b346101ea575f6003193601126101ea576020600254604051908152f35b346101ea5760206003193601126101ea5773ffffffffffffffffffffffffffffffffffffffff61187f611a8e565b165f52600c602052606060405f2067ffffffffffffffff6001825492015416604051916fffffffffffffffffffffffffffffffff8116835260801c60208301526040820152f35b346101ea575f6003193601126101ea57602060405162093a808152f35b346101ea5760406003193601126101ea576118fc611a8e565b60243590331561163a5773ffffffffffffffffffffffffffffffffffffffff1690811561160e57335f52600160205260405f20825f526020528060405f20556040519081527f8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b92560203392a3602060405160018152f35b346101ea575f6003193601126101ea576040515f6003548060011c90600181168015611a23575b602083108114610f5c57828552908115610f1a57506001146119c557610eb883610ea481850382611b05565b91905060035f527fc2575a0e9e593c00f959f8c92f12db2869c3395a3b0502d05e2516446f71f85b915f905b808210611a0957509091508101602001610ea4610e94565b9192600181602092548385880101520191019092916119f1565b91607f1691611999565b346101ea5760e06003193601126101ea57602061026c6108c4611e32565b907fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe0601f602080948051918291828752018686015e5f8582860101520116010190565b6004359073ffffffffffffffffffffffffffffffffffffffff821682036101ea57565b6024359073ffffffffffffffffffffffffffffffffffffffff821682036101ea57565b9181601f840112156101ea5782359167ffffffffffffffff83116101ea576020808501948460051b0101116101ea57565b90601f7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe0910116810190811067ffffffffffffffff821117611b4657604052565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52604160045260245ffd5b906fffffffffffffffffffffffffffffffff809116911603906fffffffffffffffffffffffffffffffff8211610b9357565b906fffffffffffffffffffffffffffffffff809116911601906fffffffffffffffffffffffffffffffff8211610b9357565b91908201809211610b9357565b9035907fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe1813603018212156101ea570180359067ffffffffffffffff82116101ea576020019160a08202360383136101ea57565b91908203918211610b9357565b61016d90046101008110611c5857505f90565b69021e19e0c9bab2400000901c90565b6020818303126101ea5780519067ffffffffffffffff82116101ea570181601f820112156101ea5780519167ffffffffffffffff8311611b46578260051b916020830193611cb96040519586611b05565b84526020808501938201019182116101ea57602001915b818310611cdd5750505090565b825173ffffffffffffffffffffffffffffffffffffffff811681036101ea57815260209283019201611cd0565b928091604085019085526040602086015252606083019060608160051b85010193835f917fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe182360301905b848410611d66575050505050505090565b909192939495967fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa08282030187528735838112156101ea578401906020823592019167ffffffffffffffff81116101ea5780360383136101ea576020827fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe0601f8480600198869897879852868601375f8482018601520116010199019701959401929190611d55565b60243573ffffffffffffffffffffffffffffffffffffffff811681036101ea5790565b60243573ffffffffffffffffffffffffffffffffffffffff8116908181036101ea575060405160208101917ff5f4042051c843c5759895c8ac3c218780d56520aef901160e2d83ac9256c18c835260043560408301526060820152604435608082015260643560a082015260843560c082015260a43560e082015260c4356101008201526101008152611ec761012082611b05565b51902090565b604290611ed8612115565b90604051917f19010000000000000000000000000000000000000000000000000000000000008352600283015260228201522090565b73ffffffffffffffffffffffffffffffffffffffff16908115611fd85773ffffffffffffffffffffffffffffffffffffffff169182156105e857815f525f60205260405f2054818110611fa657817fddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef92602092855f525f84520360405f2055845f525f825260405f20818154019055604051908152a3565b827fe450d38c000000000000000000000000000000000000000000000000000000005f5260045260245260445260645ffd5b7f96c6fd1e000000000000000000000000000000000000000000000000000000005f525f60045260245ffd5b90919073ffffffffffffffffffffffffffffffffffffffff168015611fd857805f525f60205260405f205483811061207b576020845f94957fddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef938587528684520360408620558060025403600255604051908152a3565b91507fe450d38c000000000000000000000000000000000000000000000000000000005f5260045260245260445260645ffd5b90604051908060051b92838301907f377458c4493fc4d77bae823b15eaec0d04d29b86e371a3d201207882c4fa97098252905f9160208201905b8484106120f85750505050502090565b60a08181600193853760c085208660051b890152019301926120e8565b73ffffffffffffffffffffffffffffffffffffffff7f00000000000000000000000000000000000000000000000000000000000000001630148061220f575b1561217d577f000000000000000000000000000000000000000000000000000000000000000090565b60405160208101907f8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f82527f000000000000000000000000000000000000000000000000000000000000000060408201527f000000000000000000000000000000000000000000000000000000000000000060608201524660808201523060a082015260a08152611ec760c082611b05565b507f00000000000000000000000000000000000000000000000000000000000000004614612154565b60ff811690601f82116122675760405191612254604084611b05565b6020808452838101919036833783525290565b7fb3512b0c000000000000000000000000000000000000000000000000000000005f5260045ffdfea164736f6c6343000825000a",
}

// FLEX is an auto generated Go binding around an Ethereum contract.
type FLEX struct {
	abi abi.ABI
}

// GetABI returns the ABI associated with this contract binding.
func (c *FLEX) GetABI() abi.ABI {
	return c.abi
}

// NewFLEX creates a new instance of FLEX.
func NewFLEX() *FLEX {
	parsed, err := FLEXMetaData.ParseABI()
	if err != nil {
		panic(errors.New("invalid ABI: " + err.Error()))
	}
	return &FLEX{abi: *parsed}
}

// Instance creates a wrapper for a deployed contract instance at the given address.
// Use this to create the instance object passed to abigen v2 library functions Call, Transact, etc.
func (c *FLEX) Instance(backend bind.ContractBackend, addr common.Address) *bind.BoundContract {
	return bind.NewBoundContract(addr, c.abi, backend, backend, backend)
}

// PackConstructor is the Go binding used to pack the parameters required for
// contract deployment.
//
// Solidity: constructor(address registry_) returns()
func (fLEX *FLEX) PackConstructor(registry_ common.Address) []byte {
	enc, err := fLEX.abi.Pack("", registry_)
	if err != nil {
		panic(err)
	}
	return enc
}

// PackEPOCH is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa0dc2758.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function EPOCH() view returns(uint256)
func (fLEX *FLEX) PackEPOCH() []byte {
	enc, err := fLEX.abi.Pack("EPOCH")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackEPOCH is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa0dc2758.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function EPOCH() view returns(uint256)
func (fLEX *FLEX) TryPackEPOCH() ([]byte, error) {
	return fLEX.abi.Pack("EPOCH")
}

// UnpackEPOCH is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xa0dc2758.
//
// Solidity: function EPOCH() view returns(uint256)
func (fLEX *FLEX) UnpackEPOCH(data []byte) (*big.Int, error) {
	out, err := fLEX.abi.Unpack("EPOCH", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackHALVINGEPOCHS is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x648229e3.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function HALVING_EPOCHS() view returns(uint256)
func (fLEX *FLEX) PackHALVINGEPOCHS() []byte {
	enc, err := fLEX.abi.Pack("HALVING_EPOCHS")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackHALVINGEPOCHS is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x648229e3.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function HALVING_EPOCHS() view returns(uint256)
func (fLEX *FLEX) TryPackHALVINGEPOCHS() ([]byte, error) {
	return fLEX.abi.Pack("HALVING_EPOCHS")
}

// UnpackHALVINGEPOCHS is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x648229e3.
//
// Solidity: function HALVING_EPOCHS() view returns(uint256)
func (fLEX *FLEX) UnpackHALVINGEPOCHS(data []byte) (*big.Int, error) {
	out, err := fLEX.abi.Unpack("HALVING_EPOCHS", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackINITIALEPOCHCAP is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xcd4e3b3f.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function INITIAL_EPOCH_CAP() view returns(uint256)
func (fLEX *FLEX) PackINITIALEPOCHCAP() []byte {
	enc, err := fLEX.abi.Pack("INITIAL_EPOCH_CAP")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackINITIALEPOCHCAP is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xcd4e3b3f.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function INITIAL_EPOCH_CAP() view returns(uint256)
func (fLEX *FLEX) TryPackINITIALEPOCHCAP() ([]byte, error) {
	return fLEX.abi.Pack("INITIAL_EPOCH_CAP")
}

// UnpackINITIALEPOCHCAP is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xcd4e3b3f.
//
// Solidity: function INITIAL_EPOCH_CAP() view returns(uint256)
func (fLEX *FLEX) UnpackINITIALEPOCHCAP(data []byte) (*big.Int, error) {
	out, err := fLEX.abi.Unpack("INITIAL_EPOCH_CAP", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackKINDAVAILABILITY is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1dae2382.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function KIND_AVAILABILITY() view returns(uint8)
func (fLEX *FLEX) PackKINDAVAILABILITY() []byte {
	enc, err := fLEX.abi.Pack("KIND_AVAILABILITY")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackKINDAVAILABILITY is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1dae2382.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function KIND_AVAILABILITY() view returns(uint8)
func (fLEX *FLEX) TryPackKINDAVAILABILITY() ([]byte, error) {
	return fLEX.abi.Pack("KIND_AVAILABILITY")
}

// UnpackKINDAVAILABILITY is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x1dae2382.
//
// Solidity: function KIND_AVAILABILITY() view returns(uint8)
func (fLEX *FLEX) UnpackKINDAVAILABILITY(data []byte) (uint8, error) {
	out, err := fLEX.abi.Unpack("KIND_AVAILABILITY", data)
	if err != nil {
		return *new(uint8), err
	}
	out0 := *abi.ConvertType(out[0], new(uint8)).(*uint8)
	return out0, nil
}

// PackKINDDELIVERY is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xbbac9e7c.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function KIND_DELIVERY() view returns(uint8)
func (fLEX *FLEX) PackKINDDELIVERY() []byte {
	enc, err := fLEX.abi.Pack("KIND_DELIVERY")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackKINDDELIVERY is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xbbac9e7c.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function KIND_DELIVERY() view returns(uint8)
func (fLEX *FLEX) TryPackKINDDELIVERY() ([]byte, error) {
	return fLEX.abi.Pack("KIND_DELIVERY")
}

// UnpackKINDDELIVERY is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xbbac9e7c.
//
// Solidity: function KIND_DELIVERY() view returns(uint8)
func (fLEX *FLEX) UnpackKINDDELIVERY(data []byte) (uint8, error) {
	out, err := fLEX.abi.Unpack("KIND_DELIVERY", data)
	if err != nil {
		return *new(uint8), err
	}
	out0 := *abi.ConvertType(out[0], new(uint8)).(*uint8)
	return out0, nil
}

// PackREWARDBATCHTYPEHASH is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x7ce38510.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function REWARD_BATCH_TYPEHASH() view returns(bytes32)
func (fLEX *FLEX) PackREWARDBATCHTYPEHASH() []byte {
	enc, err := fLEX.abi.Pack("REWARD_BATCH_TYPEHASH")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackREWARDBATCHTYPEHASH is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x7ce38510.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function REWARD_BATCH_TYPEHASH() view returns(bytes32)
func (fLEX *FLEX) TryPackREWARDBATCHTYPEHASH() ([]byte, error) {
	return fLEX.abi.Pack("REWARD_BATCH_TYPEHASH")
}

// UnpackREWARDBATCHTYPEHASH is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x7ce38510.
//
// Solidity: function REWARD_BATCH_TYPEHASH() view returns(bytes32)
func (fLEX *FLEX) UnpackREWARDBATCHTYPEHASH(data []byte) ([32]byte, error) {
	out, err := fLEX.abi.Unpack("REWARD_BATCH_TYPEHASH", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackREWARDTYPEHASH is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xfb01e4e1.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function REWARD_TYPEHASH() view returns(bytes32)
func (fLEX *FLEX) PackREWARDTYPEHASH() []byte {
	enc, err := fLEX.abi.Pack("REWARD_TYPEHASH")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackREWARDTYPEHASH is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xfb01e4e1.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function REWARD_TYPEHASH() view returns(bytes32)
func (fLEX *FLEX) TryPackREWARDTYPEHASH() ([]byte, error) {
	return fLEX.abi.Pack("REWARD_TYPEHASH")
}

// UnpackREWARDTYPEHASH is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xfb01e4e1.
//
// Solidity: function REWARD_TYPEHASH() view returns(bytes32)
func (fLEX *FLEX) UnpackREWARDTYPEHASH(data []byte) ([32]byte, error) {
	out, err := fLEX.abi.Unpack("REWARD_TYPEHASH", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackSLASHTYPEHASH is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x5c2af2aa.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function SLASH_TYPEHASH() view returns(bytes32)
func (fLEX *FLEX) PackSLASHTYPEHASH() []byte {
	enc, err := fLEX.abi.Pack("SLASH_TYPEHASH")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSLASHTYPEHASH is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x5c2af2aa.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function SLASH_TYPEHASH() view returns(bytes32)
func (fLEX *FLEX) TryPackSLASHTYPEHASH() ([]byte, error) {
	return fLEX.abi.Pack("SLASH_TYPEHASH")
}

// UnpackSLASHTYPEHASH is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x5c2af2aa.
//
// Solidity: function SLASH_TYPEHASH() view returns(bytes32)
func (fLEX *FLEX) UnpackSLASHTYPEHASH(data []byte) ([32]byte, error) {
	out, err := fLEX.abi.Unpack("SLASH_TYPEHASH", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackUNBONDING is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x0fe7683f.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function UNBONDING() view returns(uint256)
func (fLEX *FLEX) PackUNBONDING() []byte {
	enc, err := fLEX.abi.Pack("UNBONDING")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackUNBONDING is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x0fe7683f.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function UNBONDING() view returns(uint256)
func (fLEX *FLEX) TryPackUNBONDING() ([]byte, error) {
	return fLEX.abi.Pack("UNBONDING")
}

// UnpackUNBONDING is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x0fe7683f.
//
// Solidity: function UNBONDING() view returns(uint256)
func (fLEX *FLEX) UnpackUNBONDING(data []byte) (*big.Int, error) {
	out, err := fLEX.abi.Unpack("UNBONDING", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackAllowance is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xdd62ed3e.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function allowance(address owner, address spender) view returns(uint256)
func (fLEX *FLEX) PackAllowance(owner common.Address, spender common.Address) []byte {
	enc, err := fLEX.abi.Pack("allowance", owner, spender)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackAllowance is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xdd62ed3e.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function allowance(address owner, address spender) view returns(uint256)
func (fLEX *FLEX) TryPackAllowance(owner common.Address, spender common.Address) ([]byte, error) {
	return fLEX.abi.Pack("allowance", owner, spender)
}

// UnpackAllowance is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xdd62ed3e.
//
// Solidity: function allowance(address owner, address spender) view returns(uint256)
func (fLEX *FLEX) UnpackAllowance(data []byte) (*big.Int, error) {
	out, err := fLEX.abi.Unpack("allowance", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackApprove is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x095ea7b3.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function approve(address spender, uint256 value) returns(bool)
func (fLEX *FLEX) PackApprove(spender common.Address, value *big.Int) []byte {
	enc, err := fLEX.abi.Pack("approve", spender, value)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackApprove is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x095ea7b3.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function approve(address spender, uint256 value) returns(bool)
func (fLEX *FLEX) TryPackApprove(spender common.Address, value *big.Int) ([]byte, error) {
	return fLEX.abi.Pack("approve", spender, value)
}

// UnpackApprove is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x095ea7b3.
//
// Solidity: function approve(address spender, uint256 value) returns(bool)
func (fLEX *FLEX) UnpackApprove(data []byte) (bool, error) {
	out, err := fLEX.abi.Unpack("approve", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackAvailabilityMinted is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf6aea160.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function availabilityMinted(uint256 epoch) view returns(uint256)
func (fLEX *FLEX) PackAvailabilityMinted(epoch *big.Int) []byte {
	enc, err := fLEX.abi.Pack("availabilityMinted", epoch)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackAvailabilityMinted is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf6aea160.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function availabilityMinted(uint256 epoch) view returns(uint256)
func (fLEX *FLEX) TryPackAvailabilityMinted(epoch *big.Int) ([]byte, error) {
	return fLEX.abi.Pack("availabilityMinted", epoch)
}

// UnpackAvailabilityMinted is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xf6aea160.
//
// Solidity: function availabilityMinted(uint256 epoch) view returns(uint256)
func (fLEX *FLEX) UnpackAvailabilityMinted(data []byte) (*big.Int, error) {
	out, err := fLEX.abi.Unpack("availabilityMinted", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackAwardSlashed is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9a904bb1.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function awardSlashed(bytes32 award) view returns(bool)
func (fLEX *FLEX) PackAwardSlashed(award [32]byte) []byte {
	enc, err := fLEX.abi.Pack("awardSlashed", award)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackAwardSlashed is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9a904bb1.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function awardSlashed(bytes32 award) view returns(bool)
func (fLEX *FLEX) TryPackAwardSlashed(award [32]byte) ([]byte, error) {
	return fLEX.abi.Pack("awardSlashed", award)
}

// UnpackAwardSlashed is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x9a904bb1.
//
// Solidity: function awardSlashed(bytes32 award) view returns(bool)
func (fLEX *FLEX) UnpackAwardSlashed(data []byte) (bool, error) {
	out, err := fLEX.abi.Unpack("awardSlashed", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackBalanceOf is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x70a08231.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function balanceOf(address account) view returns(uint256)
func (fLEX *FLEX) PackBalanceOf(account common.Address) []byte {
	enc, err := fLEX.abi.Pack("balanceOf", account)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackBalanceOf is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x70a08231.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function balanceOf(address account) view returns(uint256)
func (fLEX *FLEX) TryPackBalanceOf(account common.Address) ([]byte, error) {
	return fLEX.abi.Pack("balanceOf", account)
}

// UnpackBalanceOf is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x70a08231.
//
// Solidity: function balanceOf(address account) view returns(uint256)
func (fLEX *FLEX) UnpackBalanceOf(data []byte) (*big.Int, error) {
	out, err := fLEX.abi.Unpack("balanceOf", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackCurrentEpoch is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x76671808.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function currentEpoch() view returns(uint256)
func (fLEX *FLEX) PackCurrentEpoch() []byte {
	enc, err := fLEX.abi.Pack("currentEpoch")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackCurrentEpoch is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x76671808.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function currentEpoch() view returns(uint256)
func (fLEX *FLEX) TryPackCurrentEpoch() ([]byte, error) {
	return fLEX.abi.Pack("currentEpoch")
}

// UnpackCurrentEpoch is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x76671808.
//
// Solidity: function currentEpoch() view returns(uint256)
func (fLEX *FLEX) UnpackCurrentEpoch(data []byte) (*big.Int, error) {
	out, err := fLEX.abi.Unpack("currentEpoch", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackDecimals is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x313ce567.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function decimals() view returns(uint8)
func (fLEX *FLEX) PackDecimals() []byte {
	enc, err := fLEX.abi.Pack("decimals")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackDecimals is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x313ce567.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function decimals() view returns(uint8)
func (fLEX *FLEX) TryPackDecimals() ([]byte, error) {
	return fLEX.abi.Pack("decimals")
}

// UnpackDecimals is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x313ce567.
//
// Solidity: function decimals() view returns(uint8)
func (fLEX *FLEX) UnpackDecimals(data []byte) (uint8, error) {
	out, err := fLEX.abi.Unpack("decimals", data)
	if err != nil {
		return *new(uint8), err
	}
	out0 := *abi.ConvertType(out[0], new(uint8)).(*uint8)
	return out0, nil
}

// PackDomainSeparator is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf698da25.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function domainSeparator() view returns(bytes32)
func (fLEX *FLEX) PackDomainSeparator() []byte {
	enc, err := fLEX.abi.Pack("domainSeparator")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackDomainSeparator is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf698da25.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function domainSeparator() view returns(bytes32)
func (fLEX *FLEX) TryPackDomainSeparator() ([]byte, error) {
	return fLEX.abi.Pack("domainSeparator")
}

// UnpackDomainSeparator is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xf698da25.
//
// Solidity: function domainSeparator() view returns(bytes32)
func (fLEX *FLEX) UnpackDomainSeparator(data []byte) ([32]byte, error) {
	out, err := fLEX.abi.Unpack("domainSeparator", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackEip712Domain is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x84b0196e.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function eip712Domain() view returns(bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions)
func (fLEX *FLEX) PackEip712Domain() []byte {
	enc, err := fLEX.abi.Pack("eip712Domain")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackEip712Domain is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x84b0196e.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function eip712Domain() view returns(bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions)
func (fLEX *FLEX) TryPackEip712Domain() ([]byte, error) {
	return fLEX.abi.Pack("eip712Domain")
}

// Eip712DomainOutput serves as a container for the return parameters of contract
// method Eip712Domain.
type Eip712DomainOutput struct {
	Fields            [1]byte
	Name              string
	Version           string
	ChainId           *big.Int
	VerifyingContract common.Address
	Salt              [32]byte
	Extensions        []*big.Int
}

// UnpackEip712Domain is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x84b0196e.
//
// Solidity: function eip712Domain() view returns(bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions)
func (fLEX *FLEX) UnpackEip712Domain(data []byte) (Eip712DomainOutput, error) {
	out, err := fLEX.abi.Unpack("eip712Domain", data)
	outstruct := new(Eip712DomainOutput)
	if err != nil {
		return *outstruct, err
	}
	outstruct.Fields = *abi.ConvertType(out[0], new([1]byte)).(*[1]byte)
	outstruct.Name = *abi.ConvertType(out[1], new(string)).(*string)
	outstruct.Version = *abi.ConvertType(out[2], new(string)).(*string)
	outstruct.ChainId = abi.ConvertType(out[3], new(big.Int)).(*big.Int)
	outstruct.VerifyingContract = *abi.ConvertType(out[4], new(common.Address)).(*common.Address)
	outstruct.Salt = *abi.ConvertType(out[5], new([32]byte)).(*[32]byte)
	outstruct.Extensions = *abi.ConvertType(out[6], new([]*big.Int)).(*[]*big.Int)
	return *outstruct, nil
}

// PackEpochCap is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9428746d.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function epochCap(uint256 epoch) pure returns(uint256)
func (fLEX *FLEX) PackEpochCap(epoch *big.Int) []byte {
	enc, err := fLEX.abi.Pack("epochCap", epoch)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackEpochCap is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9428746d.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function epochCap(uint256 epoch) pure returns(uint256)
func (fLEX *FLEX) TryPackEpochCap(epoch *big.Int) ([]byte, error) {
	return fLEX.abi.Pack("epochCap", epoch)
}

// UnpackEpochCap is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x9428746d.
//
// Solidity: function epochCap(uint256 epoch) pure returns(uint256)
func (fLEX *FLEX) UnpackEpochCap(data []byte) (*big.Int, error) {
	out, err := fLEX.abi.Unpack("epochCap", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackGenesis is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa7f0b3de.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function genesis() view returns(uint256)
func (fLEX *FLEX) PackGenesis() []byte {
	enc, err := fLEX.abi.Pack("genesis")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackGenesis is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa7f0b3de.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function genesis() view returns(uint256)
func (fLEX *FLEX) TryPackGenesis() ([]byte, error) {
	return fLEX.abi.Pack("genesis")
}

// UnpackGenesis is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xa7f0b3de.
//
// Solidity: function genesis() view returns(uint256)
func (fLEX *FLEX) UnpackGenesis(data []byte) (*big.Int, error) {
	out, err := fLEX.abi.Unpack("genesis", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackName is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x06fdde03.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function name() view returns(string)
func (fLEX *FLEX) PackName() []byte {
	enc, err := fLEX.abi.Pack("name")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackName is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x06fdde03.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function name() view returns(string)
func (fLEX *FLEX) TryPackName() ([]byte, error) {
	return fLEX.abi.Pack("name")
}

// UnpackName is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x06fdde03.
//
// Solidity: function name() view returns(string)
func (fLEX *FLEX) UnpackName(data []byte) (string, error) {
	out, err := fLEX.abi.Unpack("name", data)
	if err != nil {
		return *new(string), err
	}
	out0 := *abi.ConvertType(out[0], new(string)).(*string)
	return out0, nil
}

// PackRecordUsed is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xfb949a30.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function recordUsed(bytes32 recordId) view returns(bool)
func (fLEX *FLEX) PackRecordUsed(recordId [32]byte) []byte {
	enc, err := fLEX.abi.Pack("recordUsed", recordId)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRecordUsed is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xfb949a30.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function recordUsed(bytes32 recordId) view returns(bool)
func (fLEX *FLEX) TryPackRecordUsed(recordId [32]byte) ([]byte, error) {
	return fLEX.abi.Pack("recordUsed", recordId)
}

// UnpackRecordUsed is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xfb949a30.
//
// Solidity: function recordUsed(bytes32 recordId) view returns(bool)
func (fLEX *FLEX) UnpackRecordUsed(data []byte) (bool, error) {
	out, err := fLEX.abi.Unpack("recordUsed", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackRegistry is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x7b103999.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function registry() view returns(address)
func (fLEX *FLEX) PackRegistry() []byte {
	enc, err := fLEX.abi.Pack("registry")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRegistry is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x7b103999.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function registry() view returns(address)
func (fLEX *FLEX) TryPackRegistry() ([]byte, error) {
	return fLEX.abi.Pack("registry")
}

// UnpackRegistry is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x7b103999.
//
// Solidity: function registry() view returns(address)
func (fLEX *FLEX) UnpackRegistry(data []byte) (common.Address, error) {
	out, err := fLEX.abi.Unpack("registry", data)
	if err != nil {
		return *new(common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	return out0, nil
}

// PackRequestUnstake is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x23095721.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function requestUnstake(uint256 amount) returns()
func (fLEX *FLEX) PackRequestUnstake(amount *big.Int) []byte {
	enc, err := fLEX.abi.Pack("requestUnstake", amount)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRequestUnstake is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x23095721.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function requestUnstake(uint256 amount) returns()
func (fLEX *FLEX) TryPackRequestUnstake(amount *big.Int) ([]byte, error) {
	return fLEX.abi.Pack("requestUnstake", amount)
}

// PackReserve is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x28d05d4f.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function reserve(bytes32 requestId, bytes32 awardsRoot, uint256 amount) returns()
func (fLEX *FLEX) PackReserve(requestId [32]byte, awardsRoot [32]byte, amount *big.Int) []byte {
	enc, err := fLEX.abi.Pack("reserve", requestId, awardsRoot, amount)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackReserve is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x28d05d4f.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function reserve(bytes32 requestId, bytes32 awardsRoot, uint256 amount) returns()
func (fLEX *FLEX) TryPackReserve(requestId [32]byte, awardsRoot [32]byte, amount *big.Int) ([]byte, error) {
	return fLEX.abi.Pack("reserve", requestId, awardsRoot, amount)
}

// PackReserved is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x36e39e1f.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function reserved(address account, bytes32 requestId) view returns(bool)
func (fLEX *FLEX) PackReserved(account common.Address, requestId [32]byte) []byte {
	enc, err := fLEX.abi.Pack("reserved", account, requestId)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackReserved is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x36e39e1f.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function reserved(address account, bytes32 requestId) view returns(bool)
func (fLEX *FLEX) TryPackReserved(account common.Address, requestId [32]byte) ([]byte, error) {
	return fLEX.abi.Pack("reserved", account, requestId)
}

// UnpackReserved is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x36e39e1f.
//
// Solidity: function reserved(address account, bytes32 requestId) view returns(bool)
func (fLEX *FLEX) UnpackReserved(data []byte) (bool, error) {
	out, err := fLEX.abi.Unpack("reserved", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackReward is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xdba74b96.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function reward((bytes32,(bytes32,address,uint256,uint8,bytes32)[]) batch, bytes[] signatures) returns(uint256 total)
func (fLEX *FLEX) PackReward(batch FLEXRewardBatch, signatures [][]byte) []byte {
	enc, err := fLEX.abi.Pack("reward", batch, signatures)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackReward is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xdba74b96.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function reward((bytes32,(bytes32,address,uint256,uint8,bytes32)[]) batch, bytes[] signatures) returns(uint256 total)
func (fLEX *FLEX) TryPackReward(batch FLEXRewardBatch, signatures [][]byte) ([]byte, error) {
	return fLEX.abi.Pack("reward", batch, signatures)
}

// UnpackReward is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xdba74b96.
//
// Solidity: function reward((bytes32,(bytes32,address,uint256,uint8,bytes32)[]) batch, bytes[] signatures) returns(uint256 total)
func (fLEX *FLEX) UnpackReward(data []byte) (*big.Int, error) {
	out, err := fLEX.abi.Unpack("reward", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackRewardDigest is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x6c5bb392.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function rewardDigest((bytes32,(bytes32,address,uint256,uint8,bytes32)[]) batch) view returns(bytes32)
func (fLEX *FLEX) PackRewardDigest(batch FLEXRewardBatch) []byte {
	enc, err := fLEX.abi.Pack("rewardDigest", batch)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRewardDigest is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x6c5bb392.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function rewardDigest((bytes32,(bytes32,address,uint256,uint8,bytes32)[]) batch) view returns(bytes32)
func (fLEX *FLEX) TryPackRewardDigest(batch FLEXRewardBatch) ([]byte, error) {
	return fLEX.abi.Pack("rewardDigest", batch)
}

// UnpackRewardDigest is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x6c5bb392.
//
// Solidity: function rewardDigest((bytes32,(bytes32,address,uint256,uint8,bytes32)[]) batch) view returns(bytes32)
func (fLEX *FLEX) UnpackRewardDigest(data []byte) ([32]byte, error) {
	out, err := fLEX.abi.Unpack("rewardDigest", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackRewarded is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x35cd19a3.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function rewarded(bytes32 batchId) view returns(bool)
func (fLEX *FLEX) PackRewarded(batchId [32]byte) []byte {
	enc, err := fLEX.abi.Pack("rewarded", batchId)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRewarded is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x35cd19a3.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function rewarded(bytes32 batchId) view returns(bool)
func (fLEX *FLEX) TryPackRewarded(batchId [32]byte) ([]byte, error) {
	return fLEX.abi.Pack("rewarded", batchId)
}

// UnpackRewarded is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x35cd19a3.
//
// Solidity: function rewarded(bytes32 batchId) view returns(bool)
func (fLEX *FLEX) UnpackRewarded(data []byte) (bool, error) {
	out, err := fLEX.abi.Unpack("rewarded", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackSlash is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xd1fc7bb3.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function slash((bytes32,address,bytes32,uint256,uint256,uint256,bytes32) s, bytes[] signatures) returns(uint256 burned)
func (fLEX *FLEX) PackSlash(s FLEXSlash, signatures [][]byte) []byte {
	enc, err := fLEX.abi.Pack("slash", s, signatures)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSlash is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xd1fc7bb3.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function slash((bytes32,address,bytes32,uint256,uint256,uint256,bytes32) s, bytes[] signatures) returns(uint256 burned)
func (fLEX *FLEX) TryPackSlash(s FLEXSlash, signatures [][]byte) ([]byte, error) {
	return fLEX.abi.Pack("slash", s, signatures)
}

// UnpackSlash is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xd1fc7bb3.
//
// Solidity: function slash((bytes32,address,bytes32,uint256,uint256,uint256,bytes32) s, bytes[] signatures) returns(uint256 burned)
func (fLEX *FLEX) UnpackSlash(data []byte) (*big.Int, error) {
	out, err := fLEX.abi.Unpack("slash", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackSlashDigest is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x01da8114.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function slashDigest((bytes32,address,bytes32,uint256,uint256,uint256,bytes32) s) view returns(bytes32)
func (fLEX *FLEX) PackSlashDigest(s FLEXSlash) []byte {
	enc, err := fLEX.abi.Pack("slashDigest", s)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSlashDigest is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x01da8114.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function slashDigest((bytes32,address,bytes32,uint256,uint256,uint256,bytes32) s) view returns(bytes32)
func (fLEX *FLEX) TryPackSlashDigest(s FLEXSlash) ([]byte, error) {
	return fLEX.abi.Pack("slashDigest", s)
}

// UnpackSlashDigest is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x01da8114.
//
// Solidity: function slashDigest((bytes32,address,bytes32,uint256,uint256,uint256,bytes32) s) view returns(bytes32)
func (fLEX *FLEX) UnpackSlashDigest(data []byte) ([32]byte, error) {
	out, err := fLEX.abi.Unpack("slashDigest", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackStake is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa694fc3a.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function stake(uint256 amount) returns()
func (fLEX *FLEX) PackStake(amount *big.Int) []byte {
	enc, err := fLEX.abi.Pack("stake", amount)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackStake is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa694fc3a.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function stake(uint256 amount) returns()
func (fLEX *FLEX) TryPackStake(amount *big.Int) ([]byte, error) {
	return fLEX.abi.Pack("stake", amount)
}

// PackStakes is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x16934fc4.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function stakes(address provider) view returns(uint128 bonded, uint128 unbonding, uint64 unlockAt)
func (fLEX *FLEX) PackStakes(provider common.Address) []byte {
	enc, err := fLEX.abi.Pack("stakes", provider)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackStakes is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x16934fc4.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function stakes(address provider) view returns(uint128 bonded, uint128 unbonding, uint64 unlockAt)
func (fLEX *FLEX) TryPackStakes(provider common.Address) ([]byte, error) {
	return fLEX.abi.Pack("stakes", provider)
}

// StakesOutput serves as a container for the return parameters of contract
// method Stakes.
type StakesOutput struct {
	Bonded    *big.Int
	Unbonding *big.Int
	UnlockAt  uint64
}

// UnpackStakes is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x16934fc4.
//
// Solidity: function stakes(address provider) view returns(uint128 bonded, uint128 unbonding, uint64 unlockAt)
func (fLEX *FLEX) UnpackStakes(data []byte) (StakesOutput, error) {
	out, err := fLEX.abi.Unpack("stakes", data)
	outstruct := new(StakesOutput)
	if err != nil {
		return *outstruct, err
	}
	outstruct.Bonded = abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	outstruct.Unbonding = abi.ConvertType(out[1], new(big.Int)).(*big.Int)
	outstruct.UnlockAt = *abi.ConvertType(out[2], new(uint64)).(*uint64)
	return *outstruct, nil
}

// PackSymbol is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x95d89b41.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function symbol() view returns(string)
func (fLEX *FLEX) PackSymbol() []byte {
	enc, err := fLEX.abi.Pack("symbol")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSymbol is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x95d89b41.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function symbol() view returns(string)
func (fLEX *FLEX) TryPackSymbol() ([]byte, error) {
	return fLEX.abi.Pack("symbol")
}

// UnpackSymbol is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x95d89b41.
//
// Solidity: function symbol() view returns(string)
func (fLEX *FLEX) UnpackSymbol(data []byte) (string, error) {
	out, err := fLEX.abi.Unpack("symbol", data)
	if err != nil {
		return *new(string), err
	}
	out0 := *abi.ConvertType(out[0], new(string)).(*string)
	return out0, nil
}

// PackTotalSupply is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x18160ddd.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function totalSupply() view returns(uint256)
func (fLEX *FLEX) PackTotalSupply() []byte {
	enc, err := fLEX.abi.Pack("totalSupply")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackTotalSupply is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x18160ddd.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function totalSupply() view returns(uint256)
func (fLEX *FLEX) TryPackTotalSupply() ([]byte, error) {
	return fLEX.abi.Pack("totalSupply")
}

// UnpackTotalSupply is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x18160ddd.
//
// Solidity: function totalSupply() view returns(uint256)
func (fLEX *FLEX) UnpackTotalSupply(data []byte) (*big.Int, error) {
	out, err := fLEX.abi.Unpack("totalSupply", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackTransfer is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa9059cbb.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function transfer(address to, uint256 value) returns(bool)
func (fLEX *FLEX) PackTransfer(to common.Address, value *big.Int) []byte {
	enc, err := fLEX.abi.Pack("transfer", to, value)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackTransfer is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa9059cbb.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function transfer(address to, uint256 value) returns(bool)
func (fLEX *FLEX) TryPackTransfer(to common.Address, value *big.Int) ([]byte, error) {
	return fLEX.abi.Pack("transfer", to, value)
}

// UnpackTransfer is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xa9059cbb.
//
// Solidity: function transfer(address to, uint256 value) returns(bool)
func (fLEX *FLEX) UnpackTransfer(data []byte) (bool, error) {
	out, err := fLEX.abi.Unpack("transfer", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackTransferFrom is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x23b872dd.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function transferFrom(address from, address to, uint256 value) returns(bool)
func (fLEX *FLEX) PackTransferFrom(from common.Address, to common.Address, value *big.Int) []byte {
	enc, err := fLEX.abi.Pack("transferFrom", from, to, value)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackTransferFrom is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x23b872dd.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function transferFrom(address from, address to, uint256 value) returns(bool)
func (fLEX *FLEX) TryPackTransferFrom(from common.Address, to common.Address, value *big.Int) ([]byte, error) {
	return fLEX.abi.Pack("transferFrom", from, to, value)
}

// UnpackTransferFrom is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x23b872dd.
//
// Solidity: function transferFrom(address from, address to, uint256 value) returns(bool)
func (fLEX *FLEX) UnpackTransferFrom(data []byte) (bool, error) {
	out, err := fLEX.abi.Unpack("transferFrom", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackWithdraw is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x3ccfd60b.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function withdraw() returns(uint256 amount)
func (fLEX *FLEX) PackWithdraw() []byte {
	enc, err := fLEX.abi.Pack("withdraw")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackWithdraw is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x3ccfd60b.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function withdraw() returns(uint256 amount)
func (fLEX *FLEX) TryPackWithdraw() ([]byte, error) {
	return fLEX.abi.Pack("withdraw")
}

// UnpackWithdraw is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x3ccfd60b.
//
// Solidity: function withdraw() returns(uint256 amount)
func (fLEX *FLEX) UnpackWithdraw(data []byte) (*big.Int, error) {
	out, err := fLEX.abi.Unpack("withdraw", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// FLEXApproval represents a Approval event raised by the FLEX contract.
type FLEXApproval struct {
	Owner   common.Address
	Spender common.Address
	Value   *big.Int
	Raw     *types.Log // Blockchain specific contextual infos
}

const FLEXApprovalEventName = "Approval"

// ContractEventName returns the user-defined event name.
func (FLEXApproval) ContractEventName() string {
	return FLEXApprovalEventName
}

// UnpackApprovalEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Approval(address indexed owner, address indexed spender, uint256 value)
func (fLEX *FLEX) UnpackApprovalEvent(log *types.Log) (*FLEXApproval, error) {
	event := "Approval"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != fLEX.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(FLEXApproval)
	if len(log.Data) > 0 {
		if err := fLEX.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range fLEX.abi.Events[event].Inputs {
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

// FLEXEIP712DomainChanged represents a EIP712DomainChanged event raised by the FLEX contract.
type FLEXEIP712DomainChanged struct {
	Raw *types.Log // Blockchain specific contextual infos
}

const FLEXEIP712DomainChangedEventName = "EIP712DomainChanged"

// ContractEventName returns the user-defined event name.
func (FLEXEIP712DomainChanged) ContractEventName() string {
	return FLEXEIP712DomainChangedEventName
}

// UnpackEIP712DomainChangedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event EIP712DomainChanged()
func (fLEX *FLEX) UnpackEIP712DomainChangedEvent(log *types.Log) (*FLEXEIP712DomainChanged, error) {
	event := "EIP712DomainChanged"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != fLEX.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(FLEXEIP712DomainChanged)
	if len(log.Data) > 0 {
		if err := fLEX.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range fLEX.abi.Events[event].Inputs {
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

// FLEXReserved represents a Reserved event raised by the FLEX contract.
type FLEXReserved struct {
	RequestId  [32]byte
	Account    common.Address
	AwardsRoot [32]byte
	Amount     *big.Int
	Raw        *types.Log // Blockchain specific contextual infos
}

const FLEXReservedEventName = "Reserved"

// ContractEventName returns the user-defined event name.
func (FLEXReserved) ContractEventName() string {
	return FLEXReservedEventName
}

// UnpackReservedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Reserved(bytes32 indexed requestId, address indexed account, bytes32 awardsRoot, uint256 amount)
func (fLEX *FLEX) UnpackReservedEvent(log *types.Log) (*FLEXReserved, error) {
	event := "Reserved"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != fLEX.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(FLEXReserved)
	if len(log.Data) > 0 {
		if err := fLEX.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range fLEX.abi.Events[event].Inputs {
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

// FLEXRewardBatchMinted represents a RewardBatchMinted event raised by the FLEX contract.
type FLEXRewardBatchMinted struct {
	BatchId   [32]byte
	Submitter common.Address
	Records   *big.Int
	Amount    *big.Int
	Raw       *types.Log // Blockchain specific contextual infos
}

const FLEXRewardBatchMintedEventName = "RewardBatchMinted"

// ContractEventName returns the user-defined event name.
func (FLEXRewardBatchMinted) ContractEventName() string {
	return FLEXRewardBatchMintedEventName
}

// UnpackRewardBatchMintedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event RewardBatchMinted(bytes32 indexed batchId, address indexed submitter, uint256 records, uint256 amount)
func (fLEX *FLEX) UnpackRewardBatchMintedEvent(log *types.Log) (*FLEXRewardBatchMinted, error) {
	event := "RewardBatchMinted"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != fLEX.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(FLEXRewardBatchMinted)
	if len(log.Data) > 0 {
		if err := fLEX.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range fLEX.abi.Events[event].Inputs {
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

// FLEXRewarded represents a Rewarded event raised by the FLEX contract.
type FLEXRewarded struct {
	RecordId [32]byte
	Provider common.Address
	Amount   *big.Int
	Kind     uint8
	Evidence [32]byte
	Raw      *types.Log // Blockchain specific contextual infos
}

const FLEXRewardedEventName = "Rewarded"

// ContractEventName returns the user-defined event name.
func (FLEXRewarded) ContractEventName() string {
	return FLEXRewardedEventName
}

// UnpackRewardedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Rewarded(bytes32 indexed recordId, address indexed provider, uint256 amount, uint8 kind, bytes32 evidence)
func (fLEX *FLEX) UnpackRewardedEvent(log *types.Log) (*FLEXRewarded, error) {
	event := "Rewarded"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != fLEX.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(FLEXRewarded)
	if len(log.Data) > 0 {
		if err := fLEX.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range fLEX.abi.Events[event].Inputs {
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

// FLEXSlashed represents a Slashed event raised by the FLEX contract.
type FLEXSlashed struct {
	RecordId [32]byte
	Provider common.Address
	Award    [32]byte
	Amount   *big.Int
	Share    *big.Int
	Raw      *types.Log // Blockchain specific contextual infos
}

const FLEXSlashedEventName = "Slashed"

// ContractEventName returns the user-defined event name.
func (FLEXSlashed) ContractEventName() string {
	return FLEXSlashedEventName
}

// UnpackSlashedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Slashed(bytes32 indexed recordId, address indexed provider, bytes32 indexed award, uint256 amount, uint256 share)
func (fLEX *FLEX) UnpackSlashedEvent(log *types.Log) (*FLEXSlashed, error) {
	event := "Slashed"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != fLEX.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(FLEXSlashed)
	if len(log.Data) > 0 {
		if err := fLEX.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range fLEX.abi.Events[event].Inputs {
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

// FLEXStaked represents a Staked event raised by the FLEX contract.
type FLEXStaked struct {
	Provider common.Address
	Amount   *big.Int
	Raw      *types.Log // Blockchain specific contextual infos
}

const FLEXStakedEventName = "Staked"

// ContractEventName returns the user-defined event name.
func (FLEXStaked) ContractEventName() string {
	return FLEXStakedEventName
}

// UnpackStakedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Staked(address indexed provider, uint256 amount)
func (fLEX *FLEX) UnpackStakedEvent(log *types.Log) (*FLEXStaked, error) {
	event := "Staked"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != fLEX.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(FLEXStaked)
	if len(log.Data) > 0 {
		if err := fLEX.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range fLEX.abi.Events[event].Inputs {
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

// FLEXTransfer represents a Transfer event raised by the FLEX contract.
type FLEXTransfer struct {
	From  common.Address
	To    common.Address
	Value *big.Int
	Raw   *types.Log // Blockchain specific contextual infos
}

const FLEXTransferEventName = "Transfer"

// ContractEventName returns the user-defined event name.
func (FLEXTransfer) ContractEventName() string {
	return FLEXTransferEventName
}

// UnpackTransferEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Transfer(address indexed from, address indexed to, uint256 value)
func (fLEX *FLEX) UnpackTransferEvent(log *types.Log) (*FLEXTransfer, error) {
	event := "Transfer"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != fLEX.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(FLEXTransfer)
	if len(log.Data) > 0 {
		if err := fLEX.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range fLEX.abi.Events[event].Inputs {
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

// FLEXUnstakeRequested represents a UnstakeRequested event raised by the FLEX contract.
type FLEXUnstakeRequested struct {
	Provider common.Address
	Amount   *big.Int
	UnlockAt *big.Int
	Raw      *types.Log // Blockchain specific contextual infos
}

const FLEXUnstakeRequestedEventName = "UnstakeRequested"

// ContractEventName returns the user-defined event name.
func (FLEXUnstakeRequested) ContractEventName() string {
	return FLEXUnstakeRequestedEventName
}

// UnpackUnstakeRequestedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event UnstakeRequested(address indexed provider, uint256 amount, uint256 unlockAt)
func (fLEX *FLEX) UnpackUnstakeRequestedEvent(log *types.Log) (*FLEXUnstakeRequested, error) {
	event := "UnstakeRequested"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != fLEX.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(FLEXUnstakeRequested)
	if len(log.Data) > 0 {
		if err := fLEX.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range fLEX.abi.Events[event].Inputs {
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

// FLEXWithdrawn represents a Withdrawn event raised by the FLEX contract.
type FLEXWithdrawn struct {
	Provider common.Address
	Amount   *big.Int
	Raw      *types.Log // Blockchain specific contextual infos
}

const FLEXWithdrawnEventName = "Withdrawn"

// ContractEventName returns the user-defined event name.
func (FLEXWithdrawn) ContractEventName() string {
	return FLEXWithdrawnEventName
}

// UnpackWithdrawnEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Withdrawn(address indexed provider, uint256 amount)
func (fLEX *FLEX) UnpackWithdrawnEvent(log *types.Log) (*FLEXWithdrawn, error) {
	event := "Withdrawn"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != fLEX.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(FLEXWithdrawn)
	if len(log.Data) > 0 {
		if err := fLEX.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range fLEX.abi.Events[event].Inputs {
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
func (fLEX *FLEX) UnpackError(raw []byte) (any, error) {
	if bytes.Equal(raw[:4], fLEX.abi.Errors["AlreadyReserved"].ID.Bytes()[:4]) {
		return fLEX.UnpackAlreadyReservedError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["AwardAlreadySlashed"].ID.Bytes()[:4]) {
		return fLEX.UnpackAwardAlreadySlashedError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["BatchAlreadyRewarded"].ID.Bytes()[:4]) {
		return fLEX.UnpackBatchAlreadyRewardedError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["BatchIdMismatch"].ID.Bytes()[:4]) {
		return fLEX.UnpackBatchIdMismatchError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["BelowThreshold"].ID.Bytes()[:4]) {
		return fLEX.UnpackBelowThresholdError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["DuplicateAttestor"].ID.Bytes()[:4]) {
		return fLEX.UnpackDuplicateAttestorError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["ERC20InsufficientAllowance"].ID.Bytes()[:4]) {
		return fLEX.UnpackERC20InsufficientAllowanceError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["ERC20InsufficientBalance"].ID.Bytes()[:4]) {
		return fLEX.UnpackERC20InsufficientBalanceError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["ERC20InvalidApprover"].ID.Bytes()[:4]) {
		return fLEX.UnpackERC20InvalidApproverError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["ERC20InvalidReceiver"].ID.Bytes()[:4]) {
		return fLEX.UnpackERC20InvalidReceiverError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["ERC20InvalidSender"].ID.Bytes()[:4]) {
		return fLEX.UnpackERC20InvalidSenderError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["ERC20InvalidSpender"].ID.Bytes()[:4]) {
		return fLEX.UnpackERC20InvalidSpenderError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["EmissionCapExceeded"].ID.Bytes()[:4]) {
		return fLEX.UnpackEmissionCapExceededError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["EmptyBatch"].ID.Bytes()[:4]) {
		return fLEX.UnpackEmptyBatchError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["InsufficientStake"].ID.Bytes()[:4]) {
		return fLEX.UnpackInsufficientStakeError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["InvalidKind"].ID.Bytes()[:4]) {
		return fLEX.UnpackInvalidKindError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["InvalidShare"].ID.Bytes()[:4]) {
		return fLEX.UnpackInvalidShareError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["InvalidShortString"].ID.Bytes()[:4]) {
		return fLEX.UnpackInvalidShortStringError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["InvalidSignature"].ID.Bytes()[:4]) {
		return fLEX.UnpackInvalidSignatureError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["NotUnlocked"].ID.Bytes()[:4]) {
		return fLEX.UnpackNotUnlockedError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["RecordUsed"].ID.Bytes()[:4]) {
		return fLEX.UnpackRecordUsedError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["SafeCastOverflowedUintDowncast"].ID.Bytes()[:4]) {
		return fLEX.UnpackSafeCastOverflowedUintDowncastError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["StringTooLong"].ID.Bytes()[:4]) {
		return fLEX.UnpackStringTooLongError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["TooManySignatures"].ID.Bytes()[:4]) {
		return fLEX.UnpackTooManySignaturesError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["UnregisteredAttestor"].ID.Bytes()[:4]) {
		return fLEX.UnpackUnregisteredAttestorError(raw[4:])
	}
	if bytes.Equal(raw[:4], fLEX.abi.Errors["ZeroAmount"].ID.Bytes()[:4]) {
		return fLEX.UnpackZeroAmountError(raw[4:])
	}
	return nil, errors.New("Unknown error")
}

// FLEXAlreadyReserved represents a AlreadyReserved error raised by the FLEX contract.
type FLEXAlreadyReserved struct {
	RequestId [32]byte
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error AlreadyReserved(bytes32 requestId)
func FLEXAlreadyReservedErrorID() common.Hash {
	return common.HexToHash("0x6a8a788c864b1a39a0dc33971fae44958e6a37b5259ba70e470f17eb16a26144")
}

// UnpackAlreadyReservedError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error AlreadyReserved(bytes32 requestId)
func (fLEX *FLEX) UnpackAlreadyReservedError(raw []byte) (*FLEXAlreadyReserved, error) {
	out := new(FLEXAlreadyReserved)
	if err := fLEX.abi.UnpackIntoInterface(out, "AlreadyReserved", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXAwardAlreadySlashed represents a AwardAlreadySlashed error raised by the FLEX contract.
type FLEXAwardAlreadySlashed struct {
	Award [32]byte
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error AwardAlreadySlashed(bytes32 award)
func FLEXAwardAlreadySlashedErrorID() common.Hash {
	return common.HexToHash("0x5c5a257236f3d09f1fb4c9caf3e6a3dffa73fec2768131257711325ada09940a")
}

// UnpackAwardAlreadySlashedError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error AwardAlreadySlashed(bytes32 award)
func (fLEX *FLEX) UnpackAwardAlreadySlashedError(raw []byte) (*FLEXAwardAlreadySlashed, error) {
	out := new(FLEXAwardAlreadySlashed)
	if err := fLEX.abi.UnpackIntoInterface(out, "AwardAlreadySlashed", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXBatchAlreadyRewarded represents a BatchAlreadyRewarded error raised by the FLEX contract.
type FLEXBatchAlreadyRewarded struct {
	BatchId [32]byte
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error BatchAlreadyRewarded(bytes32 batchId)
func FLEXBatchAlreadyRewardedErrorID() common.Hash {
	return common.HexToHash("0xe08773a8c8640e4eb7e7716602af01eabe08438a4f05c1e654ac885f746f0910")
}

// UnpackBatchAlreadyRewardedError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error BatchAlreadyRewarded(bytes32 batchId)
func (fLEX *FLEX) UnpackBatchAlreadyRewardedError(raw []byte) (*FLEXBatchAlreadyRewarded, error) {
	out := new(FLEXBatchAlreadyRewarded)
	if err := fLEX.abi.UnpackIntoInterface(out, "BatchAlreadyRewarded", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXBatchIdMismatch represents a BatchIdMismatch error raised by the FLEX contract.
type FLEXBatchIdMismatch struct {
	BatchId     [32]byte
	RewardsHash [32]byte
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error BatchIdMismatch(bytes32 batchId, bytes32 rewardsHash)
func FLEXBatchIdMismatchErrorID() common.Hash {
	return common.HexToHash("0x23755fc497277bbe359d5c8490a4681001326d49a208290f29f8967034f9dbbf")
}

// UnpackBatchIdMismatchError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error BatchIdMismatch(bytes32 batchId, bytes32 rewardsHash)
func (fLEX *FLEX) UnpackBatchIdMismatchError(raw []byte) (*FLEXBatchIdMismatch, error) {
	out := new(FLEXBatchIdMismatch)
	if err := fLEX.abi.UnpackIntoInterface(out, "BatchIdMismatch", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXBelowThreshold represents a BelowThreshold error raised by the FLEX contract.
type FLEXBelowThreshold struct {
	Signatures *big.Int
	Threshold  *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error BelowThreshold(uint256 signatures, uint256 threshold)
func FLEXBelowThresholdErrorID() common.Hash {
	return common.HexToHash("0x8b05c814296d98f4f07b3bc12cb7a432374a44716d3cdbb2055265f66227d36f")
}

// UnpackBelowThresholdError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error BelowThreshold(uint256 signatures, uint256 threshold)
func (fLEX *FLEX) UnpackBelowThresholdError(raw []byte) (*FLEXBelowThreshold, error) {
	out := new(FLEXBelowThreshold)
	if err := fLEX.abi.UnpackIntoInterface(out, "BelowThreshold", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXDuplicateAttestor represents a DuplicateAttestor error raised by the FLEX contract.
type FLEXDuplicateAttestor struct {
	Signer common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error DuplicateAttestor(address signer)
func FLEXDuplicateAttestorErrorID() common.Hash {
	return common.HexToHash("0xc4e5be43a3ac06469f84a0a84326a24db4fb536304b791fe4214a7499e061d11")
}

// UnpackDuplicateAttestorError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error DuplicateAttestor(address signer)
func (fLEX *FLEX) UnpackDuplicateAttestorError(raw []byte) (*FLEXDuplicateAttestor, error) {
	out := new(FLEXDuplicateAttestor)
	if err := fLEX.abi.UnpackIntoInterface(out, "DuplicateAttestor", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXERC20InsufficientAllowance represents a ERC20InsufficientAllowance error raised by the FLEX contract.
type FLEXERC20InsufficientAllowance struct {
	Spender   common.Address
	Allowance *big.Int
	Needed    *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)
func FLEXERC20InsufficientAllowanceErrorID() common.Hash {
	return common.HexToHash("0xfb8f41b23e99d2101d86da76cdfa87dd51c82ed07d3cb62cbc473e469dbc75c3")
}

// UnpackERC20InsufficientAllowanceError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)
func (fLEX *FLEX) UnpackERC20InsufficientAllowanceError(raw []byte) (*FLEXERC20InsufficientAllowance, error) {
	out := new(FLEXERC20InsufficientAllowance)
	if err := fLEX.abi.UnpackIntoInterface(out, "ERC20InsufficientAllowance", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXERC20InsufficientBalance represents a ERC20InsufficientBalance error raised by the FLEX contract.
type FLEXERC20InsufficientBalance struct {
	Sender  common.Address
	Balance *big.Int
	Needed  *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)
func FLEXERC20InsufficientBalanceErrorID() common.Hash {
	return common.HexToHash("0xe450d38cd8d9f7d95077d567d60ed49c7254716e6ad08fc9872816c97e0ffec6")
}

// UnpackERC20InsufficientBalanceError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)
func (fLEX *FLEX) UnpackERC20InsufficientBalanceError(raw []byte) (*FLEXERC20InsufficientBalance, error) {
	out := new(FLEXERC20InsufficientBalance)
	if err := fLEX.abi.UnpackIntoInterface(out, "ERC20InsufficientBalance", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXERC20InvalidApprover represents a ERC20InvalidApprover error raised by the FLEX contract.
type FLEXERC20InvalidApprover struct {
	Approver common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ERC20InvalidApprover(address approver)
func FLEXERC20InvalidApproverErrorID() common.Hash {
	return common.HexToHash("0xe602df05cc75712490294c6c104ab7c17f4030363910a7a2626411c6d3118847")
}

// UnpackERC20InvalidApproverError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ERC20InvalidApprover(address approver)
func (fLEX *FLEX) UnpackERC20InvalidApproverError(raw []byte) (*FLEXERC20InvalidApprover, error) {
	out := new(FLEXERC20InvalidApprover)
	if err := fLEX.abi.UnpackIntoInterface(out, "ERC20InvalidApprover", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXERC20InvalidReceiver represents a ERC20InvalidReceiver error raised by the FLEX contract.
type FLEXERC20InvalidReceiver struct {
	Receiver common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ERC20InvalidReceiver(address receiver)
func FLEXERC20InvalidReceiverErrorID() common.Hash {
	return common.HexToHash("0xec442f055133b72f3b2f9f0bb351c406b178527de2040a7d1feb4e058771f613")
}

// UnpackERC20InvalidReceiverError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ERC20InvalidReceiver(address receiver)
func (fLEX *FLEX) UnpackERC20InvalidReceiverError(raw []byte) (*FLEXERC20InvalidReceiver, error) {
	out := new(FLEXERC20InvalidReceiver)
	if err := fLEX.abi.UnpackIntoInterface(out, "ERC20InvalidReceiver", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXERC20InvalidSender represents a ERC20InvalidSender error raised by the FLEX contract.
type FLEXERC20InvalidSender struct {
	Sender common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ERC20InvalidSender(address sender)
func FLEXERC20InvalidSenderErrorID() common.Hash {
	return common.HexToHash("0x96c6fd1edd0cd6ef7ff0ecc0facdf53148dc0048b57fe58af65755250a7a96bd")
}

// UnpackERC20InvalidSenderError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ERC20InvalidSender(address sender)
func (fLEX *FLEX) UnpackERC20InvalidSenderError(raw []byte) (*FLEXERC20InvalidSender, error) {
	out := new(FLEXERC20InvalidSender)
	if err := fLEX.abi.UnpackIntoInterface(out, "ERC20InvalidSender", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXERC20InvalidSpender represents a ERC20InvalidSpender error raised by the FLEX contract.
type FLEXERC20InvalidSpender struct {
	Spender common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ERC20InvalidSpender(address spender)
func FLEXERC20InvalidSpenderErrorID() common.Hash {
	return common.HexToHash("0x94280d62c347d8d9f4d59a76ea321452406db88df38e0c9da304f58b57b373a2")
}

// UnpackERC20InvalidSpenderError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ERC20InvalidSpender(address spender)
func (fLEX *FLEX) UnpackERC20InvalidSpenderError(raw []byte) (*FLEXERC20InvalidSpender, error) {
	out := new(FLEXERC20InvalidSpender)
	if err := fLEX.abi.UnpackIntoInterface(out, "ERC20InvalidSpender", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXEmissionCapExceeded represents a EmissionCapExceeded error raised by the FLEX contract.
type FLEXEmissionCapExceeded struct {
	Epoch  *big.Int
	Cap    *big.Int
	Wanted *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error EmissionCapExceeded(uint256 epoch, uint256 cap, uint256 wanted)
func FLEXEmissionCapExceededErrorID() common.Hash {
	return common.HexToHash("0xee2c6fe794efd9cbcf1e83dd64fae3f151a3631ea94679361fb9a8677844b33f")
}

// UnpackEmissionCapExceededError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error EmissionCapExceeded(uint256 epoch, uint256 cap, uint256 wanted)
func (fLEX *FLEX) UnpackEmissionCapExceededError(raw []byte) (*FLEXEmissionCapExceeded, error) {
	out := new(FLEXEmissionCapExceeded)
	if err := fLEX.abi.UnpackIntoInterface(out, "EmissionCapExceeded", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXEmptyBatch represents a EmptyBatch error raised by the FLEX contract.
type FLEXEmptyBatch struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error EmptyBatch()
func FLEXEmptyBatchErrorID() common.Hash {
	return common.HexToHash("0xc2e5347df6cf8d1bf68f8a9651642312bd381b900d857d97cd665976180d6ae0")
}

// UnpackEmptyBatchError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error EmptyBatch()
func (fLEX *FLEX) UnpackEmptyBatchError(raw []byte) (*FLEXEmptyBatch, error) {
	out := new(FLEXEmptyBatch)
	if err := fLEX.abi.UnpackIntoInterface(out, "EmptyBatch", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXInsufficientStake represents a InsufficientStake error raised by the FLEX contract.
type FLEXInsufficientStake struct {
	Available *big.Int
	Wanted    *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error InsufficientStake(uint256 available, uint256 wanted)
func FLEXInsufficientStakeErrorID() common.Hash {
	return common.HexToHash("0x45be0a261a88f9fedc41221879f08865d5e8d6053c877967e6e8e39e5697e6d5")
}

// UnpackInsufficientStakeError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error InsufficientStake(uint256 available, uint256 wanted)
func (fLEX *FLEX) UnpackInsufficientStakeError(raw []byte) (*FLEXInsufficientStake, error) {
	out := new(FLEXInsufficientStake)
	if err := fLEX.abi.UnpackIntoInterface(out, "InsufficientStake", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXInvalidKind represents a InvalidKind error raised by the FLEX contract.
type FLEXInvalidKind struct {
	Kind uint8
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error InvalidKind(uint8 kind)
func FLEXInvalidKindErrorID() common.Hash {
	return common.HexToHash("0x04818320379d24ecb3568e5322b502c61e7a61c3f98708123d1dbd91b8d72785")
}

// UnpackInvalidKindError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error InvalidKind(uint8 kind)
func (fLEX *FLEX) UnpackInvalidKindError(raw []byte) (*FLEXInvalidKind, error) {
	out := new(FLEXInvalidKind)
	if err := fLEX.abi.UnpackIntoInterface(out, "InvalidKind", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXInvalidShare represents a InvalidShare error raised by the FLEX contract.
type FLEXInvalidShare struct {
	AwardPrice  *big.Int
	WindowValue *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error InvalidShare(uint256 awardPrice, uint256 windowValue)
func FLEXInvalidShareErrorID() common.Hash {
	return common.HexToHash("0x068f89d2f98b83556cd1c0da46212f0e7e50562c51098734b445b059e3fa61b4")
}

// UnpackInvalidShareError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error InvalidShare(uint256 awardPrice, uint256 windowValue)
func (fLEX *FLEX) UnpackInvalidShareError(raw []byte) (*FLEXInvalidShare, error) {
	out := new(FLEXInvalidShare)
	if err := fLEX.abi.UnpackIntoInterface(out, "InvalidShare", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXInvalidShortString represents a InvalidShortString error raised by the FLEX contract.
type FLEXInvalidShortString struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error InvalidShortString()
func FLEXInvalidShortStringErrorID() common.Hash {
	return common.HexToHash("0xb3512b0c6163e5f0bafab72bb631b9d58cd7a731b082f910338aa21c83d5c274")
}

// UnpackInvalidShortStringError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error InvalidShortString()
func (fLEX *FLEX) UnpackInvalidShortStringError(raw []byte) (*FLEXInvalidShortString, error) {
	out := new(FLEXInvalidShortString)
	if err := fLEX.abi.UnpackIntoInterface(out, "InvalidShortString", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXInvalidSignature represents a InvalidSignature error raised by the FLEX contract.
type FLEXInvalidSignature struct {
	Index *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error InvalidSignature(uint256 index)
func FLEXInvalidSignatureErrorID() common.Hash {
	return common.HexToHash("0x52bf9848f4f569cd5e845a26f8524878f8ac004dcaace7433d78683624c84a76")
}

// UnpackInvalidSignatureError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error InvalidSignature(uint256 index)
func (fLEX *FLEX) UnpackInvalidSignatureError(raw []byte) (*FLEXInvalidSignature, error) {
	out := new(FLEXInvalidSignature)
	if err := fLEX.abi.UnpackIntoInterface(out, "InvalidSignature", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXNotUnlocked represents a NotUnlocked error raised by the FLEX contract.
type FLEXNotUnlocked struct {
	UnlockAt *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error NotUnlocked(uint256 unlockAt)
func FLEXNotUnlockedErrorID() common.Hash {
	return common.HexToHash("0xd69e0d5362d420730aba78d35b4095e06dfe2f678778f0a240bc34a0840486d7")
}

// UnpackNotUnlockedError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error NotUnlocked(uint256 unlockAt)
func (fLEX *FLEX) UnpackNotUnlockedError(raw []byte) (*FLEXNotUnlocked, error) {
	out := new(FLEXNotUnlocked)
	if err := fLEX.abi.UnpackIntoInterface(out, "NotUnlocked", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXRecordUsed represents a RecordUsed error raised by the FLEX contract.
type FLEXRecordUsed struct {
	RecordId [32]byte
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error RecordUsed(bytes32 recordId)
func FLEXRecordUsedErrorID() common.Hash {
	return common.HexToHash("0x18d92f3a5ec155da7ccbeeb67e235c29d3c4132d28ac7cac7f84dc8199903b02")
}

// UnpackRecordUsedError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error RecordUsed(bytes32 recordId)
func (fLEX *FLEX) UnpackRecordUsedError(raw []byte) (*FLEXRecordUsed, error) {
	out := new(FLEXRecordUsed)
	if err := fLEX.abi.UnpackIntoInterface(out, "RecordUsed", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXSafeCastOverflowedUintDowncast represents a SafeCastOverflowedUintDowncast error raised by the FLEX contract.
type FLEXSafeCastOverflowedUintDowncast struct {
	Bits  uint8
	Value *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error SafeCastOverflowedUintDowncast(uint8 bits, uint256 value)
func FLEXSafeCastOverflowedUintDowncastErrorID() common.Hash {
	return common.HexToHash("0x6dfcc6503a32754ce7a89698e18201fc5294fd4aad43edefee786f88423b1a12")
}

// UnpackSafeCastOverflowedUintDowncastError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error SafeCastOverflowedUintDowncast(uint8 bits, uint256 value)
func (fLEX *FLEX) UnpackSafeCastOverflowedUintDowncastError(raw []byte) (*FLEXSafeCastOverflowedUintDowncast, error) {
	out := new(FLEXSafeCastOverflowedUintDowncast)
	if err := fLEX.abi.UnpackIntoInterface(out, "SafeCastOverflowedUintDowncast", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXStringTooLong represents a StringTooLong error raised by the FLEX contract.
type FLEXStringTooLong struct {
	Str string
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error StringTooLong(string str)
func FLEXStringTooLongErrorID() common.Hash {
	return common.HexToHash("0x305a27a93f8e33b7392df0a0f91d6fc63847395853c45991eec52dbf24d72381")
}

// UnpackStringTooLongError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error StringTooLong(string str)
func (fLEX *FLEX) UnpackStringTooLongError(raw []byte) (*FLEXStringTooLong, error) {
	out := new(FLEXStringTooLong)
	if err := fLEX.abi.UnpackIntoInterface(out, "StringTooLong", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXTooManySignatures represents a TooManySignatures error raised by the FLEX contract.
type FLEXTooManySignatures struct {
	Signatures *big.Int
	Max        *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error TooManySignatures(uint256 signatures, uint256 max)
func FLEXTooManySignaturesErrorID() common.Hash {
	return common.HexToHash("0x3f8ea0257f66027f0f5369a984fe6810ff2d585c8413731f43f460e8eacb8aeb")
}

// UnpackTooManySignaturesError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error TooManySignatures(uint256 signatures, uint256 max)
func (fLEX *FLEX) UnpackTooManySignaturesError(raw []byte) (*FLEXTooManySignatures, error) {
	out := new(FLEXTooManySignatures)
	if err := fLEX.abi.UnpackIntoInterface(out, "TooManySignatures", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXUnregisteredAttestor represents a UnregisteredAttestor error raised by the FLEX contract.
type FLEXUnregisteredAttestor struct {
	Signer common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error UnregisteredAttestor(address signer)
func FLEXUnregisteredAttestorErrorID() common.Hash {
	return common.HexToHash("0xb900c065725d06e3c10ad4553c884e580edadef44dbc483a2fd75e0cfbf52a69")
}

// UnpackUnregisteredAttestorError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error UnregisteredAttestor(address signer)
func (fLEX *FLEX) UnpackUnregisteredAttestorError(raw []byte) (*FLEXUnregisteredAttestor, error) {
	out := new(FLEXUnregisteredAttestor)
	if err := fLEX.abi.UnpackIntoInterface(out, "UnregisteredAttestor", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// FLEXZeroAmount represents a ZeroAmount error raised by the FLEX contract.
type FLEXZeroAmount struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ZeroAmount()
func FLEXZeroAmountErrorID() common.Hash {
	return common.HexToHash("0x1f2a2005cb66a8e145327e8814e243a0996aec9bfe1e15a495778b1236dbd485")
}

// UnpackZeroAmountError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ZeroAmount()
func (fLEX *FLEX) UnpackZeroAmountError(raw []byte) (*FLEXZeroAmount, error) {
	out := new(FLEXZeroAmount)
	if err := fLEX.abi.UnpackIntoInterface(out, "ZeroAmount", raw); err != nil {
		return nil, err
	}
	return out, nil
}
