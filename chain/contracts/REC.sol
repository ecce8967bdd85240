// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {ERC1155Utils} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Utils.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {AttestorRegistry, IAttestation} from "./AttestorRegistry.sol";

/// @title gridmint renewable energy certificates (ERC-1155)
/// @notice One token unit is one Wh of renewable energy. A token id encodes
/// (grid zone, technology, production hour):
///   bits 255..72  zone: the UTF-8 zone name, right-padded (at most 23 bytes)
///   bits  71..64  technology (1 = solar PV)
///   bits  63..0   production hour: UTC Unix seconds / 3600
/// which is `uint256(zone) | technology << 64 | hour` for a right-padded bytes32 zone.
/// Certificates are issued only against an IssueBatch signed (EIP-712) by at
/// least k distinct registered attestors, not counting the claiming node
/// itself (each Claim names its node); a per-device high-water mark makes
/// every hour of every device issuable at most once.
/// @dev Storage is laid out for cheap issuance of one hour of many devices:
/// balances are packed eight consecutive hours of one (zone, technology) per
/// slot, 32 bits (4,294,967,295 Wh) per hour; an amount that does not fit
/// its lane is kept in a per-id overflow slot, so any uint256 balance works.
/// A home's balance slot is thus new (22,100 gas) once every eight hours
/// instead of every hour, and the eight-hour groups are staggered per home.
contract REC is ERC1155, EIP712, ReentrancyGuardTransient, IAttestation {
    /// @notice One device's renewable energy in one clock hour (EIP-712 type Claim).
    struct Claim {
        bytes32 device; // the device's key (a salted hash of its id)
        address node; // the claiming node: its own signature never counts for this claim
        address owner; // receives the certificates
        bytes32 zone; // grid zone, UTF-8, right-padded with zeros
        uint8 technology; // 1 = solar PV
        uint64 hour; // UTC Unix seconds / 3600
        uint64 wh; // energy in whole Wh (rounded down)
        bytes32 readingsRoot; // commitment to the readings
    }

    /// @notice A batch of claims issued in one call (EIP-712 type IssueBatch).
    struct IssueBatch {
        bytes32 batchId; // keccak256 of the claims' struct hashes, in order
        Claim[] claims; // ordered by device, then hour
    }

    /// @notice EIP-712 type hash of Claim.
    bytes32 public constant CLAIM_TYPEHASH =
        keccak256(
            "Claim(bytes32 device,address node,address owner,bytes32 zone,uint8 technology,uint64 hour,uint64 wh,bytes32 readingsRoot)"
        );
    /// @notice EIP-712 type hash of IssueBatch.
    bytes32 public constant ISSUE_BATCH_TYPEHASH =
        keccak256(
            "IssueBatch(bytes32 batchId,Claim[] claims)Claim(bytes32 device,address node,address owner,bytes32 zone,uint8 technology,uint64 hour,uint64 wh,bytes32 readingsRoot)"
        );

    uint256 private constant LANE_BITS = 32;
    uint256 private constant LANE_MASK = 0xffffffff;
    uint256 private constant ZONE_LOW_MASK = (1 << 72) - 1;

    /// @notice The attestor set and threshold.
    AttestorRegistry public immutable registry;

    /// @dev device => next issuable hour (last issued hour + 1; 0 = none issued).
    mapping(bytes32 device => uint256) private _nextHour;
    /// @dev batch id => issued.
    mapping(bytes32 batchId => bool) private _issued;
    /// @dev owner => (id >> 3) => eight 32-bit balances, lane (id & 7).
    mapping(address owner => mapping(uint256 group => uint256)) private _lanes;
    /// @dev owner => id => balance above what its lane holds.
    mapping(address owner => mapping(uint256 id => uint256)) private _overflow;
    /// @dev id => Wh in circulation.
    mapping(uint256 id => uint256) private _supply;
    uint256 private _totalSupply;

    /// @notice Number of retirements so far; retirement ids are 1, 2, 3, ...
    uint256 public retirements;

    /// @notice A batch was issued: `claims` claims, `wh` Wh minted in total.
    /// Each minted claim also emits TransferSingle(operator, 0, owner, id, wh).
    event Issued(bytes32 indexed batchId, address indexed submitter, uint256 claims, uint256 wh);
    /// @notice `amount` Wh of token `id` held by `account` were retired (burned)
    /// for `beneficiary`, with the claim text of the retirement statement.
    event Retired(
        uint256 indexed retirementId,
        address indexed account,
        uint256 indexed id,
        uint256 amount,
        string beneficiary,
        string claim
    );

    /// @notice The batch has no claims.
    error EmptyBatch();
    /// @notice The batch was issued already.
    error BatchAlreadyIssued(bytes32 batchId);
    /// @notice The batch id is not the hash of its claims.
    error BatchIdMismatch(bytes32 batchId, bytes32 claimsHash);
    /// @notice The hour of the device was issued already (or an earlier hour
    /// than one issued): `next` is the first hour still issuable.
    error HourAlreadyIssued(bytes32 device, uint64 hour, uint256 next);
    /// @notice Only hours that have ended can be issued.
    error HourNotEnded(uint64 hour);
    /// @notice Technology 0 is not a technology.
    error InvalidTechnology(uint8 technology);
    /// @notice A zone is 1 to 23 bytes, right-padded.
    error InvalidZone(bytes32 zone);
    /// @notice A claim names no node.
    error ZeroNode(bytes32 device);
    /// @notice The claim's own node is one of exactly k signers: without it
    /// fewer than k attestors vouch for the claim.
    error SelfAttested(bytes32 device, address node);
    /// @notice Retiring nothing.
    error ZeroAmount();
    /// @notice A retirement names its beneficiary.
    error EmptyBeneficiary();

    /// @param registry_ the attestor registry
    /// @param uri_ the ERC-1155 metadata URI template ({id} substituted by clients)
    constructor(AttestorRegistry registry_, string memory uri_) ERC1155(uri_) EIP712("gridmint REC", "1") {
        registry = registry_;
    }

    /// @notice Token name, for wallets.
    function name() external pure returns (string memory) {
        return "gridmint REC";
    }

    /// @notice Token symbol, for wallets.
    function symbol() external pure returns (string memory) {
        return "REC";
    }

    // ---------------------------------------------------------------- issue

    /// @notice Issues the certificates of an attested batch: for each claim,
    /// `wh` Wh of token tokenId(zone, technology, hour) to `owner`.
    /// @param batch the claims, ordered by device then hour; batchId = keccak256
    /// of the concatenated claim struct hashes
    /// @param signatures at least k 65-byte signatures of the batch's EIP-712
    /// digest by distinct registered attestors
    /// @return wh the Wh minted
    function issue(
        IssueBatch calldata batch,
        bytes[] calldata signatures
    ) external nonReentrant returns (uint256 wh) {
        Claim[] calldata claims = batch.claims;
        uint256 n = claims.length;
        if (n == 0) revert EmptyBatch();
        bytes32 batchId = batch.batchId;
        if (_issued[batchId]) revert BatchAlreadyIssued(batchId);
        bytes32 claimsHash = _hashClaims(claims);
        if (claimsHash != batchId) revert BatchIdMismatch(batchId, claimsHash);
        address[] memory signers = registry.verify(
            _hashTypedDataV4(keccak256(abi.encode(ISSUE_BATCH_TYPEHASH, batchId, claimsHash))),
            signatures
        );
        _issued[batchId] = true;
        // The signers are distinct, so leaving out a claim's own node takes
        // away at most one: only with exactly k signers can that matter.
        bool exactlyK = signers.length == registry.threshold();

        uint256 hourNow = block.timestamp / 3600;
        uint256 curId;
        uint256 curSupply;
        for (uint256 i = 0; i < n; ++i) {
            Claim calldata c = claims[i];
            uint64 hour = c.hour;
            if (hour >= hourNow) revert HourNotEnded(hour);
            bytes32 device = c.device;
            uint256 next = _nextHour[device];
            if (hour < next) revert HourAlreadyIssued(device, hour, next);
            _nextHour[device] = uint256(hour) + 1;
            address node = c.node;
            if (node == address(0)) revert ZeroNode(device);
            if (exactlyK) _requireOthers(signers, device, node);

            uint256 amount = c.wh;
            if (amount == 0) continue;
            uint8 technology = c.technology;
            if (technology == 0) revert InvalidTechnology(technology);
            bytes32 zone = c.zone;
            if (zone == bytes32(0) || uint256(zone) & ZONE_LOW_MASK != 0) revert InvalidZone(zone);
            address owner = c.owner;
            if (owner == address(0)) revert ERC1155InvalidReceiver(address(0));

            uint256 id = uint256(zone) | (uint256(technology) << 64) | hour;
            if (id != curId) {
                if (curSupply != 0) _supply[curId] += curSupply;
                curId = id;
                curSupply = 0;
            }
            curSupply += amount;
            wh += amount;
            _credit(owner, id, amount);
            emit TransferSingle(msg.sender, address(0), owner, id, amount);
            ERC1155Utils.checkOnERC1155Received(msg.sender, address(0), owner, id, amount, "");
        }
        if (curSupply != 0) _supply[curId] += curSupply;
        _totalSupply += wh;
        emit Issued(batchId, msg.sender, n, wh);
    }

    /// @notice The EIP-712 digest attestors sign for `batch` (for off-chain checks).
    function issueDigest(IssueBatch calldata batch) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(ISSUE_BATCH_TYPEHASH, batch.batchId, _hashClaims(batch.claims))));
    }

    /// @notice The EIP-712 domain separator.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice Whether the batch was issued.
    function issued(bytes32 batchId) external view returns (bool) {
        return _issued[batchId];
    }

    /// @notice The first hour (UTC Unix seconds / 3600) of `device` still
    /// issuable: the device's high-water mark plus one, 0 if none issued.
    function nextHour(bytes32 device) external view returns (uint256) {
        return _nextHour[device];
    }

    /// @notice The token id of (zone, technology, hour).
    function tokenId(bytes32 zone, uint8 technology, uint64 hour) external pure returns (uint256) {
        if (zone == bytes32(0) || uint256(zone) & ZONE_LOW_MASK != 0) revert InvalidZone(zone);
        return uint256(zone) | (uint256(technology) << 64) | hour;
    }

    // --------------------------------------------------------------- retire

    /// @notice Retires (burns) `amount` Wh of `id` held by the caller for
    /// `beneficiary`. Emits Retired with a new retirement id.
    /// @return retirementId the id of this retirement
    function retire(
        uint256 id,
        uint256 amount,
        string calldata beneficiary,
        string calldata claim
    ) external returns (uint256 retirementId) {
        return _retire(msg.sender, id, amount, beneficiary, claim);
    }

    /// @notice Retires tokens of `account`, which approved the caller as operator.
    function retireFrom(
        address account,
        uint256 id,
        uint256 amount,
        string calldata beneficiary,
        string calldata claim
    ) external returns (uint256 retirementId) {
        _checkAuthorized(msg.sender, account);
        return _retire(account, id, amount, beneficiary, claim);
    }

    /// @notice Retires several ids at once for one beneficiary; one retirement
    /// id per entry, consecutive.
    /// @return first the retirement id of the first entry
    function retireBatch(
        uint256[] calldata ids,
        uint256[] calldata amounts,
        string calldata beneficiary,
        string calldata claim
    ) external returns (uint256 first) {
        if (ids.length != amounts.length) revert ERC1155InvalidArrayLength(ids.length, amounts.length);
        if (ids.length == 0) revert ZeroAmount();
        first = retirements + 1;
        for (uint256 i = 0; i < ids.length; ++i) {
            _retire(msg.sender, ids[i], amounts[i], beneficiary, claim);
        }
    }

    function _retire(
        address account,
        uint256 id,
        uint256 amount,
        string calldata beneficiary,
        string calldata claim
    ) private returns (uint256 retirementId) {
        if (amount == 0) revert ZeroAmount();
        if (bytes(beneficiary).length == 0) revert EmptyBeneficiary();
        _burn(account, id, amount);
        retirementId = ++retirements;
        emit Retired(retirementId, account, id, amount, beneficiary, claim);
    }

    // ------------------------------------------------------------- balances

    /// @notice Balance of `account` in token `id`, in Wh.
    function balanceOf(address account, uint256 id) public view override returns (uint256) {
        (uint256 group, uint256 shift) = _lane(account, id);
        return ((_lanes[account][group] >> shift) & LANE_MASK) + _overflow[account][id];
    }

    /// @notice Wh of token `id` in circulation (issued minus retired).
    function totalSupply(uint256 id) external view returns (uint256) {
        return _supply[id];
    }

    /// @notice Wh of all ids in circulation.
    function totalSupply() external view returns (uint256) {
        return _totalSupply;
    }

    /// @dev Transfers, mints and burns through OpenZeppelin's paths, on the packed balances.
    function _update(address from, address to, uint256[] memory ids, uint256[] memory values) internal override {
        if (ids.length != values.length) revert ERC1155InvalidArrayLength(ids.length, values.length);
        for (uint256 i = 0; i < ids.length; ++i) {
            uint256 id = ids[i];
            uint256 value = values[i];
            if (from == address(0)) {
                _supply[id] += value;
                _totalSupply += value;
            } else {
                _debit(from, id, value);
            }
            if (to == address(0)) {
                _supply[id] -= value;
                _totalSupply -= value;
            } else {
                _credit(to, id, value);
            }
        }
        if (ids.length == 1) {
            emit TransferSingle(msg.sender, from, to, ids[0], values[0]);
        } else {
            emit TransferBatch(msg.sender, from, to, ids, values);
        }
    }

    /// @dev The slot group and bit offset of (account, id)'s lane. Hours
    /// are grouped eight to a slot, the groups staggered by the account's
    /// low three address bits, so that in any one hour only an eighth of
    /// the homes start a new slot: every batch of one hour costs about the
    /// same. (id + offset) is injective in id, so lanes never collide.
    function _lane(address account, uint256 id) private pure returns (uint256 group, uint256 shift) {
        uint256 key;
        unchecked {
            key = id + (uint256(uint160(account)) & 7);
        }
        return (key >> 3, (key & 7) * LANE_BITS);
    }

    function _credit(address to, uint256 id, uint256 value) private {
        mapping(uint256 => uint256) storage lanes = _lanes[to];
        (uint256 group, uint256 shift) = _lane(to, id);
        uint256 packed = lanes[group];
        uint256 lane = (packed >> shift) & LANE_MASK;
        if (value <= LANE_MASK - lane) {
            lanes[group] = packed + (value << shift);
        } else {
            _overflow[to][id] += value;
        }
    }

    function _debit(address from, uint256 id, uint256 value) private {
        mapping(uint256 => uint256) storage lanes = _lanes[from];
        (uint256 group, uint256 shift) = _lane(from, id);
        uint256 packed = lanes[group];
        uint256 lane = (packed >> shift) & LANE_MASK;
        if (value <= lane) {
            lanes[group] = packed - (value << shift);
            return;
        }
        uint256 over = _overflow[from][id];
        if (value - lane > over) revert ERC1155InsufficientBalance(from, lane + over, value, id);
        if (lane != 0) lanes[group] = packed - (lane << shift);
        _overflow[from][id] = over - (value - lane);
    }

    /// @dev keccak256 of the concatenated EIP-712 struct hashes of the claims.
    /// Each Claim is seven static words in calldata, hashed in place; the
    /// field reads in issue() validate them (clean address, uint8, uint64).
    /// @dev Reverts if `node` is one of `signers`.
    function _requireOthers(address[] memory signers, bytes32 device, address node) private pure {
        for (uint256 j = 0; j < signers.length; ++j) {
            if (signers[j] == node) revert SelfAttested(device, node);
        }
    }

    function _hashClaims(Claim[] calldata claims) private pure returns (bytes32 h) {
        bytes32 typeHash = CLAIM_TYPEHASH;
        assembly ("memory-safe") {
            let n := claims.length
            let buf := mload(0x40)
            let tmp := add(buf, shl(5, n))
            mstore(tmp, typeHash)
            let src := claims.offset
            for {
                let i := 0
            } lt(i, n) {
                i := add(i, 1)
            } {
                calldatacopy(add(tmp, 0x20), src, 0x100)
                mstore(add(buf, shl(5, i)), keccak256(tmp, 0x120))
                src := add(src, 0x100)
            }
            h := keccak256(buf, shl(5, n))
        }
    }
}
