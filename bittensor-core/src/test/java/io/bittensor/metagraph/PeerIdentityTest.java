package io.bittensor.metagraph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.bittensor.crypto.Keypair;
import io.bittensor.proto.GossipBatch;
import org.junit.jupiter.api.Test;

/** One peer, one entry: {@link PeerSet#identify} and the {@link GossipIdentity} proof. */
class PeerIdentityTest {
    private static final long BASE = 10_000;
    private static final String K1 = Keypair.generate().publicKeyHex();
    private static final String K2 = Keypair.generate().publicKeyHex();
    private static final String SELF = Keypair.generate().publicKeyHex();

    private static PeerSet peers() {
        PeerSet p = new PeerSet(10, BASE, 8 * BASE, 1000);
        p.setSelf("10.0.0.9:8092");
        p.setSelfKey(SELF);
        return p;
    }

    @Test
    void bootstrapAndAdvertisedAddressOfOnePeerAreOneEntry() {
        PeerSet p = peers();
        p.addBootstrap("127.0.0.1:8092");
        assertEquals(PeerSet.Identified.BOUND, p.identify("127.0.0.1:8092", K1));
        assertEquals(PeerSet.Added.ADDED, p.add("10.0.0.5:8092", 0)); // its advertised address
        assertEquals(2, p.size());
        assertEquals(PeerSet.Identified.DUPLICATE, p.identify("10.0.0.5:8092", K1));
        assertEquals(1, p.size());
        assertTrue(p.contains("127.0.0.1:8092"), "the bootstrap address is the one kept");
        // Gossip keeps naming the advertised address: it stays out.
        assertEquals(PeerSet.Added.KNOWN, p.add("10.0.0.5:8092", 1));
        assertEquals(1, p.size());
    }

    @Test
    void theBootstrapAddressIsKeptWhicheverIsProvenFirst() {
        PeerSet p = peers();
        p.add("10.0.0.5:8092", 0);
        p.addBootstrap("127.0.0.1:8092");
        assertEquals(PeerSet.Identified.BOUND, p.identify("10.0.0.5:8092", K1));
        assertEquals(PeerSet.Identified.DUPLICATE, p.identify("127.0.0.1:8092", K1));
        assertEquals(1, p.size());
        assertTrue(p.contains("127.0.0.1:8092"));
        assertEquals(PeerSet.Added.KNOWN, p.add("10.0.0.5:8092", 0));
    }

    @Test
    void anAddressProvingOurOwnKeyIsOurself() {
        PeerSet p = peers();
        p.add("127.0.0.1:8092", 0);
        assertEquals(PeerSet.Identified.SELF, p.identify("127.0.0.1:8092", SELF));
        assertEquals(0, p.size());
        assertEquals(PeerSet.Added.SELF, p.add("127.0.0.1:8092", 0));
    }

    @Test
    void distinctPeersStayDistinctAndAnAliasReturnsOnceItsPeerIsGone() {
        PeerSet p = peers();
        p.add("a:1", 0);
        p.add("b:1", 0);
        assertEquals(PeerSet.Identified.BOUND, p.identify("a:1", K1));
        assertEquals(PeerSet.Identified.BOUND, p.identify("b:1", K2));
        assertEquals(2, p.size());
        p.add("c:1", 0);
        assertEquals(PeerSet.Identified.DUPLICATE, p.identify("c:1", K1));
        assertEquals(PeerSet.Added.KNOWN, p.add("c:1", 0));
        p.failed("a:1", 0); // K1 is no longer held anywhere
        assertFalse(p.contains("a:1"));
        assertEquals(PeerSet.Added.ADDED, p.add("c:1", 0));
    }

    @Test
    void anAddressTakenOverByAnotherNeuronIsRebound() {
        PeerSet p = peers();
        p.add("a:1", 0);
        p.identify("a:1", K1);
        assertEquals(PeerSet.Identified.BOUND, p.identify("a:1", K2));
        p.add("b:1", 0);
        assertEquals(PeerSet.Identified.BOUND, p.identify("b:1", K1), "K1 no longer held at a:1");
        assertEquals(2, p.size());
    }

    @Test
    void theProofBindsTheKeyToTheChallenge() {
        Keypair kp = Keypair.generate();
        ByteString c = GossipIdentity.challenge();
        GossipBatch request = GossipBatch.newBuilder().setIdentityChallenge(c).build();
        GossipBatch reply = GossipIdentity.answer(GossipBatch.getDefaultInstance(), request, kp);
        assertEquals(kp.publicKeyHex(), GossipIdentity.proven(c, reply));
        // A replayed answer to another challenge, a claimed key without a valid signature, no answer.
        assertNull(GossipIdentity.proven(GossipIdentity.challenge(), reply));
        assertNull(GossipIdentity.proven(c, reply.toBuilder().setNeuronKey(K1).build()));
        assertNull(GossipIdentity.proven(c, reply.toBuilder().setNeuronKey("0xzz").build()));
        assertNull(GossipIdentity.proven(c, GossipBatch.getDefaultInstance()));
        // A request without a challenge (a Python peer) or a malformed one gets the plain reply.
        assertEquals(GossipBatch.getDefaultInstance(),
                GossipIdentity.answer(GossipBatch.getDefaultInstance(), GossipBatch.getDefaultInstance(), kp));
        GossipBatch odd = GossipBatch.newBuilder().setIdentityChallenge(ByteString.copyFrom(new byte[17])).build();
        assertEquals(GossipBatch.getDefaultInstance(), GossipIdentity.answer(GossipBatch.getDefaultInstance(), odd, kp));
    }
}
