// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {AttestorRegistry, IAttestation} from "./AttestorRegistry.sol";

/// @title gridmint flexibility token (ERC-20, 18 decimals)
/// @notice No pre-mine and no allocation: every unit is minted by `reward`
/// against a RewardBatch signed (EIP-712) by at least k distinct registered
/// attestors, each reward record usable once. Utilities burn FLEX with
/// `reserve` to make a cleared request's awards firm. Amounts are FLEX base
/// units (1 FLEX = 1e18 units).
///
/// Emission rule for availability rewards (kind 2), public and enforced here:
/// time is cut into epochs of EPOCH seconds from deployment; in epoch e at
/// most INITIAL_EPOCH_CAP >> (e / HALVING_EPOCHS) units are minted for
/// availability, so availability emission never exceeds
/// 2 * INITIAL_EPOCH_CAP * HALVING_EPOCHS units in total (7,300,000 FLEX).
/// Delivery rewards (kind 1) pay verified delivered flexibility and are
/// bounded by the attestors' evidence, not by a schedule.
///
/// Optional stake: a provider may stake FLEX (held by this contract). An
/// attested Slash burns part of it for one under-delivered award, at most
/// that award's share of the stake when it executes: stake * awardPrice /
/// windowValue, where windowValue is the provider's total awarded value in
/// the window. An attested amount above that share is capped to it, not
/// refused: attestors compute it from the stake at the award's reservation
/// block, and an earlier slash (or a withdrawal) may have lowered the stake
/// since. So the slashes of one window together never exceed the stake,
/// and each award can be slashed once. Unstaking waits UNBONDING seconds and
/// stays slashable.
contract FLEX is ERC20, EIP712, IAttestation {
    /// @notice One reward record (EIP-712 type Reward).
    struct Reward {
        bytes32 recordId; // usable once
        address provider; // receives the FLEX
        uint256 amount; // FLEX base units
        uint8 kind; // 1 = delivery, 2 = availability
        bytes32 evidence; // commitment to the evidence
    }

    /// @notice A batch of rewards minted in one call (EIP-712 type RewardBatch).
    struct RewardBatch {
        bytes32 batchId; // keccak256 of the rewards' struct hashes, in order
        Reward[] rewards; // ordered by record id
    }

    /// @notice A penalty for one under-delivered award (EIP-712 type Slash).
    struct Slash {
        bytes32 recordId; // usable once (shares the namespace of reward record ids)
        address provider; // whose stake is slashed
        bytes32 award; // the Award's EIP-712 struct hash
        uint256 awardPrice; // FLEX base units: the award's price
        uint256 windowValue; // FLEX base units: the provider's awarded value in the window
        uint256 amount; // FLEX base units to burn from the stake
        bytes32 evidence; // commitment to the measurement
    }

    /// @notice EIP-712 type hash of Reward.
    bytes32 public constant REWARD_TYPEHASH =
        keccak256("Reward(bytes32 recordId,address provider,uint256 amount,uint8 kind,bytes32 evidence)");
    /// @notice EIP-712 type hash of RewardBatch.
    bytes32 public constant REWARD_BATCH_TYPEHASH =
        keccak256(
            "RewardBatch(bytes32 batchId,Reward[] rewards)Reward(bytes32 recordId,address provider,uint256 amount,uint8 kind,bytes32 evidence)"
        );
    /// @notice EIP-712 type hash of Slash.
    bytes32 public constant SLASH_TYPEHASH =
        keccak256(
            "Slash(bytes32 recordId,address provider,bytes32 award,uint256 awardPrice,uint256 windowValue,uint256 amount,bytes32 evidence)"
        );

    /// @notice Reward kind: verified delivered flexibility.
    uint8 public constant KIND_DELIVERY = 1;
    /// @notice Reward kind: committed availability, under the emission rule.
    uint8 public constant KIND_AVAILABILITY = 2;
    /// @notice Seconds per emission epoch.
    uint256 public constant EPOCH = 1 days;
    /// @notice Availability cap of epoch 0, in FLEX base units (10,000 FLEX).
    uint256 public constant INITIAL_EPOCH_CAP = 10_000e18;
    /// @notice The epoch cap halves every HALVING_EPOCHS epochs.
    uint256 public constant HALVING_EPOCHS = 365;
    /// @notice Seconds between requesting to unstake and withdrawing.
    uint256 public constant UNBONDING = 7 days;

    /// @notice The attestor set and threshold.
    AttestorRegistry public immutable registry;
    /// @notice Start of epoch 0 (Unix seconds): the deployment block's time.
    uint256 public immutable genesis;

    /// @notice Whether a reward or slash record id was used.
    mapping(bytes32 recordId => bool) public recordUsed;
    /// @notice Whether a reward batch was minted.
    mapping(bytes32 batchId => bool) public rewarded;
    /// @notice Availability units minted per epoch.
    mapping(uint256 epoch => uint256) public availabilityMinted;
    /// @notice Whether an award was slashed.
    mapping(bytes32 award => bool) public awardSlashed;
    mapping(address account => mapping(bytes32 requestId => bool)) private _reserved;

    /// @notice A provider's stake, FLEX base units.
    struct Stake {
        uint128 bonded; // slashable, not unbonding
        uint128 unbonding; // slashable, withdrawable at unlockAt
        uint64 unlockAt; // Unix seconds
    }

    /// @notice Stakes by provider.
    mapping(address provider => Stake) public stakes;

    /// @notice A reward batch was minted: `records` records, `amount` units in total.
    event RewardBatchMinted(bytes32 indexed batchId, address indexed submitter, uint256 records, uint256 amount);
    /// @notice One reward record was minted to `provider` (also Transfer from 0).
    event Rewarded(bytes32 indexed recordId, address indexed provider, uint256 amount, uint8 kind, bytes32 evidence);
    /// @notice `account` burned `amount` units to reserve request `requestId`'s awards.
    event Reserved(bytes32 indexed requestId, address indexed account, bytes32 awardsRoot, uint256 amount);
    /// @notice `provider` staked `amount` units.
    event Staked(address indexed provider, uint256 amount);
    /// @notice `provider` started unbonding `amount` units, withdrawable at `unlockAt`.
    event UnstakeRequested(address indexed provider, uint256 amount, uint256 unlockAt);
    /// @notice `provider` withdrew `amount` unbonded units.
    event Withdrawn(address indexed provider, uint256 amount);
    /// @notice `amount` units of `provider`'s stake were burned for `award`
    /// (the attested amount, capped at `share`); `share` was the most that
    /// could be.
    event Slashed(bytes32 indexed recordId, address indexed provider, bytes32 indexed award, uint256 amount, uint256 share);

    /// @notice The batch has no rewards.
    error EmptyBatch();
    /// @notice The batch was minted already.
    error BatchAlreadyRewarded(bytes32 batchId);
    /// @notice The batch id is not the hash of its rewards.
    error BatchIdMismatch(bytes32 batchId, bytes32 rewardsHash);
    /// @notice The record id was used already.
    error RecordUsed(bytes32 recordId);
    /// @notice Unknown reward kind.
    error InvalidKind(uint8 kind);
    /// @notice A zero amount.
    error ZeroAmount();
    /// @notice Availability rewards over the epoch's cap.
    error EmissionCapExceeded(uint256 epoch, uint256 cap, uint256 wanted);
    /// @notice The caller reserved this request already.
    error AlreadyReserved(bytes32 requestId);
    /// @notice More than the bonded stake.
    error InsufficientStake(uint256 available, uint256 wanted);
    /// @notice Nothing unbonded yet, or not yet withdrawable.
    error NotUnlocked(uint256 unlockAt);
    /// @notice The award was slashed already.
    error AwardAlreadySlashed(bytes32 award);
    /// @notice A slash must name a price within its window value.
    error InvalidShare(uint256 awardPrice, uint256 windowValue);

    /// @param registry_ the attestor registry
    constructor(AttestorRegistry registry_) ERC20("gridmint FLEX", "FLEX") EIP712("gridmint FLEX", "1") {
        registry = registry_;
        genesis = block.timestamp;
    }

    // --------------------------------------------------------------- reward

    /// @notice Mints the rewards of an attested batch: `amount` units to each
    /// record's provider. Every record id is usable once; availability rewards
    /// count against the current epoch's cap.
    /// @param batch the rewards, ordered by record id; batchId = keccak256 of
    /// the concatenated reward struct hashes
    /// @param signatures at least k 65-byte signatures of the batch's EIP-712
    /// digest by distinct registered attestors
    /// @return total the units minted
    function reward(RewardBatch calldata batch, bytes[] calldata signatures) external returns (uint256 total) {
        Reward[] calldata rewards = batch.rewards;
        uint256 n = rewards.length;
        if (n == 0) revert EmptyBatch();
        bytes32 batchId = batch.batchId;
        if (rewarded[batchId]) revert BatchAlreadyRewarded(batchId);
        bytes32 rewardsHash = _hashRewards(rewards);
        if (rewardsHash != batchId) revert BatchIdMismatch(batchId, rewardsHash);
        registry.verify(
            _hashTypedDataV4(keccak256(abi.encode(REWARD_BATCH_TYPEHASH, batchId, rewardsHash))),
            signatures
        );
        rewarded[batchId] = true;

        uint256 availability;
        for (uint256 i = 0; i < n; ++i) {
            Reward calldata r = rewards[i];
            bytes32 recordId = r.recordId;
            if (recordUsed[recordId]) revert RecordUsed(recordId);
            recordUsed[recordId] = true;
            uint8 kind = r.kind;
            uint256 amount = r.amount;
            if (amount == 0) revert ZeroAmount();
            if (kind == KIND_AVAILABILITY) {
                availability += amount;
            } else if (kind != KIND_DELIVERY) {
                revert InvalidKind(kind);
            }
            address provider = r.provider;
            _mint(provider, amount);
            total += amount;
            emit Rewarded(recordId, provider, amount, kind, r.evidence);
        }
        if (availability != 0) {
            uint256 epoch = currentEpoch();
            uint256 cap = epochCap(epoch);
            uint256 minted = availabilityMinted[epoch] + availability;
            if (minted > cap) revert EmissionCapExceeded(epoch, cap, minted);
            availabilityMinted[epoch] = minted;
        }
        emit RewardBatchMinted(batchId, msg.sender, n, total);
    }

    /// @notice The EIP-712 digest attestors sign for `batch` (for off-chain checks).
    function rewardDigest(RewardBatch calldata batch) external view returns (bytes32) {
        return
            _hashTypedDataV4(keccak256(abi.encode(REWARD_BATCH_TYPEHASH, batch.batchId, _hashRewards(batch.rewards))));
    }

    /// @notice The EIP-712 domain separator.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice The current emission epoch.
    function currentEpoch() public view returns (uint256) {
        return (block.timestamp - genesis) / EPOCH;
    }

    /// @notice Availability units mintable in `epoch` in total.
    function epochCap(uint256 epoch) public pure returns (uint256) {
        uint256 halvings = epoch / HALVING_EPOCHS;
        return halvings >= 256 ? 0 : INITIAL_EPOCH_CAP >> halvings;
    }

    // -------------------------------------------------------------- reserve

    /// @notice Burns `amount` units from the caller to reserve the awards of
    /// request `requestId` (Merkle root `awardsRoot`). Once per caller and request.
    function reserve(bytes32 requestId, bytes32 awardsRoot, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        if (_reserved[msg.sender][requestId]) revert AlreadyReserved(requestId);
        _reserved[msg.sender][requestId] = true;
        _burn(msg.sender, amount);
        emit Reserved(requestId, msg.sender, awardsRoot, amount);
    }

    /// @notice Whether `account` reserved `requestId`.
    function reserved(address account, bytes32 requestId) external view returns (bool) {
        return _reserved[account][requestId];
    }

    // ---------------------------------------------------------------- stake

    /// @notice Moves `amount` units of the caller's FLEX into its stake.
    function stake(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        _transfer(msg.sender, address(this), amount);
        stakes[msg.sender].bonded += SafeCast.toUint128(amount);
        emit Staked(msg.sender, amount);
    }

    /// @notice Starts unbonding `amount` bonded units; they stay slashable and
    /// are withdrawable UNBONDING seconds from now (the timer restarts).
    function requestUnstake(uint256 amount) external {
        Stake storage s = stakes[msg.sender];
        if (amount == 0) revert ZeroAmount();
        if (amount > s.bonded) revert InsufficientStake(s.bonded, amount);
        s.bonded -= uint128(amount); // amount <= bonded
        s.unbonding += uint128(amount);
        uint256 unlockAt = block.timestamp + UNBONDING;
        s.unlockAt = uint64(unlockAt);
        emit UnstakeRequested(msg.sender, amount, unlockAt);
    }

    /// @notice Withdraws the caller's unbonded units once unlocked.
    function withdraw() external returns (uint256 amount) {
        Stake storage s = stakes[msg.sender];
        amount = s.unbonding;
        if (amount == 0 || block.timestamp < s.unlockAt) revert NotUnlocked(s.unlockAt);
        s.unbonding = 0;
        _transfer(address(this), msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    /// @notice Burns part of a provider's stake for one under-delivered award:
    /// the attested amount, capped at the award's share of the stake now,
    /// stake * awardPrice / windowValue (zero if nothing is staked: the record
    /// and the award are used up all the same). Returns what was burned.
    function slash(Slash calldata s, bytes[] calldata signatures) external returns (uint256 burned) {
        if (recordUsed[s.recordId]) revert RecordUsed(s.recordId);
        if (awardSlashed[s.award]) revert AwardAlreadySlashed(s.award);
        if (s.amount == 0) revert ZeroAmount();
        if (s.windowValue == 0 || s.awardPrice > s.windowValue) revert InvalidShare(s.awardPrice, s.windowValue);
        registry.verify(_hashTypedDataV4(_hashSlash(s)), signatures);
        recordUsed[s.recordId] = true;
        awardSlashed[s.award] = true;

        Stake storage st = stakes[s.provider];
        uint256 staked = uint256(st.bonded) + st.unbonding;
        uint256 share = (staked * s.awardPrice) / s.windowValue;
        burned = s.amount < share ? s.amount : share;
        uint256 fromBonded = burned <= st.bonded ? burned : st.bonded;
        st.bonded -= uint128(fromBonded);
        st.unbonding -= uint128(burned - fromBonded); // burned <= share <= bonded + unbonding
        if (burned > 0) _burn(address(this), burned);
        emit Slashed(s.recordId, s.provider, s.award, burned, share);
    }

    /// @notice The EIP-712 digest attestors sign for `s`.
    function slashDigest(Slash calldata s) external view returns (bytes32) {
        return _hashTypedDataV4(_hashSlash(s));
    }

    function _hashSlash(Slash calldata s) private pure returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    SLASH_TYPEHASH,
                    s.recordId,
                    s.provider,
                    s.award,
                    s.awardPrice,
                    s.windowValue,
                    s.amount,
                    s.evidence
                )
            );
    }

    /// @dev keccak256 of the concatenated EIP-712 struct hashes of the rewards
    /// (five static words each, hashed in place; reward() validates the fields).
    function _hashRewards(Reward[] calldata rewards) private pure returns (bytes32 h) {
        bytes32 typeHash = REWARD_TYPEHASH;
        assembly ("memory-safe") {
            let n := rewards.length
            let buf := mload(0x40)
            let tmp := add(buf, shl(5, n))
            mstore(tmp, typeHash)
            let src := rewards.offset
            for {
                let i := 0
            } lt(i, n) {
                i := add(i, 1)
            } {
                calldatacopy(add(tmp, 0x20), src, 0xa0)
                mstore(add(buf, shl(5, i)), keccak256(tmp, 0xc0))
                src := add(src, 0xa0)
            }
            h := keccak256(buf, shl(5, n))
        }
    }
}
