// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title Errors of k-of-n attestation, shared by the registry and the tokens
/// @notice The token contracts inherit this interface so that their ABIs name
/// the errors the registry raises through them.
interface IAttestation {
    /// @notice Fewer signatures than the threshold.
    error BelowThreshold(uint256 signatures, uint256 threshold);
    /// @notice More signatures than MAX_SIGNATURES.
    error TooManySignatures(uint256 signatures, uint256 max);
    /// @notice Signature `index` is malformed (length, v, or s in the upper half).
    error InvalidSignature(uint256 index);
    /// @notice A signature recovers to an address that is not a registered attestor.
    error UnregisteredAttestor(address signer);
    /// @notice Two signatures by the same attestor.
    error DuplicateAttestor(address signer);
}

/// @title gridmint attestor registry
/// @notice The set of attestor addresses (node keys) and the threshold k: a
/// batch is attested when at least k distinct registered attestors signed its
/// EIP-712 digest. Only the owner (a multisig in production) changes the set;
/// every change emits an event.
contract AttestorRegistry is Ownable2Step, IAttestation {
    /// @notice Upper bound on signatures per batch (keeps verification gas bounded).
    uint256 public constant MAX_SIGNATURES = 64;

    /// @notice Whether an address is a registered attestor.
    mapping(address attestor => bool) public isAttestor;
    /// @notice Number of registered attestors (n).
    uint256 public attestorCount;
    /// @notice Signatures required (k), 1 <= k <= n.
    uint256 public threshold;

    /// @notice An attestor was registered.
    event AttestorAdded(address indexed attestor);
    /// @notice An attestor was removed.
    event AttestorRemoved(address indexed attestor);
    /// @notice The threshold k changed.
    event ThresholdChanged(uint256 previous, uint256 threshold);

    /// @notice The zero address cannot attest.
    error ZeroAttestor();
    /// @notice The attestor is registered already.
    error AlreadyAttestor(address attestor);
    /// @notice The address is not a registered attestor.
    error NotAttestor(address attestor);
    /// @notice k must satisfy 1 <= k <= n.
    error InvalidThreshold(uint256 threshold, uint256 attestors);

    /// @param owner_ the account that may change the set (a multisig in production)
    /// @param attestors the initial attestors (n >= 1)
    /// @param k the initial threshold, 1 <= k <= n
    constructor(address owner_, address[] memory attestors, uint256 k) Ownable(owner_) {
        for (uint256 i = 0; i < attestors.length; ++i) {
            _add(attestors[i]);
        }
        _setThreshold(k);
    }

    /// @notice Registers an attestor.
    function addAttestor(address attestor) external onlyOwner {
        _add(attestor);
    }

    /// @notice Removes an attestor; n may not fall below k.
    function removeAttestor(address attestor) external onlyOwner {
        if (!isAttestor[attestor]) revert NotAttestor(attestor);
        if (attestorCount - 1 < threshold) revert InvalidThreshold(threshold, attestorCount - 1);
        isAttestor[attestor] = false;
        --attestorCount;
        emit AttestorRemoved(attestor);
    }

    /// @notice Sets the threshold k (1 <= k <= n).
    function setThreshold(uint256 k) external onlyOwner {
        _setThreshold(k);
    }

    /// @notice Reverts unless `signatures` hold at least k signatures of `digest`,
    /// each a well-formed 65-byte (r, s, v) ECDSA signature with low s, each by a
    /// distinct registered attestor.
    /// @return signers the recovered attestors, in the order given
    function verify(bytes32 digest, bytes[] calldata signatures) external view returns (address[] memory signers) {
        uint256 n = signatures.length;
        uint256 k = threshold;
        if (n < k) revert BelowThreshold(n, k);
        if (n > MAX_SIGNATURES) revert TooManySignatures(n, MAX_SIGNATURES);
        signers = new address[](n);
        for (uint256 i = 0; i < n; ++i) {
            (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(digest, signatures[i]);
            if (err != ECDSA.RecoverError.NoError || signatures[i].length != 65) revert InvalidSignature(i);
            if (!isAttestor[signer]) revert UnregisteredAttestor(signer);
            for (uint256 j = 0; j < i; ++j) {
                if (signers[j] == signer) revert DuplicateAttestor(signer);
            }
            signers[i] = signer;
        }
    }

    function _add(address attestor) private {
        if (attestor == address(0)) revert ZeroAttestor();
        if (isAttestor[attestor]) revert AlreadyAttestor(attestor);
        isAttestor[attestor] = true;
        ++attestorCount;
        emit AttestorAdded(attestor);
    }

    function _setThreshold(uint256 k) private {
        if (k == 0 || k > attestorCount) revert InvalidThreshold(k, attestorCount);
        emit ThresholdChanged(threshold, k);
        threshold = k;
    }
}
