package io.bittensor.metagraph;

import io.bittensor.crypto.Keypair;
import io.bittensor.crypto.ProofOfWork;
import io.bittensor.crypto.SynapseSigner;
import io.bittensor.proto.Synapse;

/** Entries as an honest (or not) peer would publish them. */
final class Entries {
    private Entries() {
    }

    static Synapse unsigned(String neuronKey, String synapseKey, int port) {
        return Synapse.newBuilder().setVersion("0.0.0").setNeuronKey(neuronKey)
                .setSynapseKey(synapseKey).setAddress("10.0.0.1").setPort(Integer.toString(port))
                .build();
    }

    /** Proof of work at {@code difficulty}, signed, with an owner expiry. */
    static Synapse signed(Keypair owner, String synapseKey, int port, int difficulty,
            long expiresAtMs) {
        Synapse s = ProofOfWork.solve(unsigned(owner.publicKeyHex(), synapseKey, port), difficulty);
        return SynapseSigner.withExpiry(SynapseSigner.sign(s, owner), expiresAtMs, owner);
    }

    /** Signed and expiring, with a proof of work of fewer than {@code below} zeros. */
    static Synapse weakProof(Keypair owner, String synapseKey, int below, long expiresAtMs) {
        for (int port = 1; ; port++) {
            Synapse s = ProofOfWork.solve(unsigned(owner.publicKeyHex(), synapseKey, port), 0);
            if (ProofOfWork.countLeadingZeroHexDigits(s.getProofOfWork().toByteArray()) < below) {
                return SynapseSigner.withExpiry(SynapseSigner.sign(s, owner), expiresAtMs, owner);
            }
        }
    }

    static String key(int i) {
        return String.format("0x%064x", i);
    }
}
