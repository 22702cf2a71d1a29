package io.bittensor.metagraph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.bittensor.crypto.Keypair;
import io.bittensor.proto.GossipBatch;
import io.bittensor.proto.MetagraphGrpc;
import io.bittensor.proto.Synapse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Hostile gossip sent straight to a node's Gossip service: each bad entry or message is refused
 * and counted, and nothing else changes.
 */
class MetagraphTrustIT {

    private static final int DIFFICULTY = 2;

    private final MutableClock clock = new MutableClock(GossipNet.START_MS);
    private final Keypair alice = Keypair.generate();
    private final Keypair mallory = Keypair.generate();
    private Metagraph node;
    private ManagedChannel channel;

    private MetagraphGrpcStub start(UnaryOperator<MetagraphConfig.Builder> tweak) {
        node = new Metagraph(tweak.apply(GossipNet.testConfig(clock, 1).powDifficulty(DIFFICULTY))
                .build(), Keypair.generate()).startServer();
        node.subscribe(Entries.key(0), "127.0.0.1", 9000);
        channel = NettyChannelBuilder.forAddress("127.0.0.1", node.port()).usePlaintext().build();
        return new MetagraphGrpcStub(MetagraphGrpc.newBlockingStub(channel));
    }

    /** The blocking stub with a deadline per call. */
    private record MetagraphGrpcStub(MetagraphGrpc.MetagraphBlockingStub stub) {
        GossipBatch gossip(GossipBatch b) {
            return stub.withDeadlineAfter(10, java.util.concurrent.TimeUnit.SECONDS).gossip(b);
        }
    }

    @AfterEach
    void close() {
        if (channel != null) {
            channel.shutdownNow();
        }
        if (node != null) {
            node.close();
        }
    }

    private long later(long seconds) {
        return clock.millis() + seconds * 1000;
    }

    private static GossipBatch batch(Synapse... synapses) {
        return GossipBatch.newBuilder().addAllSynapses(List.of(synapses)).build();
    }

    /** What a node holds: synapse key to the entry, plus its peers. */
    private Map<String, Object> view() {
        Map<String, Object> v = new HashMap<>();
        for (Synapse s : node.synapses(Integer.MAX_VALUE)) {
            v.put(s.getSynapseKey(), s);
        }
        v.put("peers", new java.util.HashSet<>(node.peers(Integer.MAX_VALUE)));
        return v;
    }

    /** The server absorbs after it replies: wait for it, without sleeping blindly. */
    private static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    /** Sends one entry and waits until the node holds it. */
    private void give(MetagraphGrpcStub stub, Synapse s) {
        stub.gossip(batch(s));
        await(() -> node.synapse(s.getSynapseKey()).isPresent(), s.getSynapseKey());
    }

    private void sendAndAwait(MetagraphGrpcStub stub, GossipBatch b, DropReason reason) {
        long before = node.dropped(reason);
        stub.gossip(b);
        await(() -> node.dropped(reason) == before + 1, reason.toString());
    }

    @Test
    void validEntriesAreTakenAndRelayed() {
        MetagraphGrpcStub stub = start(b -> b);
        Synapse good = Entries.signed(alice, Entries.key(1), 1, DIFFICULTY, later(60));
        give(stub, good);
        assertEquals(good, node.synapse(Entries.key(1)).orElseThrow(), "kept byte for byte");
        GossipBatch reply = stub.gossip(GossipBatch.getDefaultInstance());
        assertTrue(reply.getSynapsesList().contains(good), "relayed as received");
        assertTrue(reply.getPeersList().contains(node.selfAddress()), "replies carry our address");
    }

    @Test
    void compactRelayDropsOnlyTheRedundantSignature() {
        MetagraphGrpcStub stub = start(b -> b.keepRelayedSignatures(false));
        Synapse good = Entries.signed(alice, Entries.key(1), 1, DIFFICULTY, later(60));
        give(stub, good);
        Synapse relayed = stub.gossip(GossipBatch.getDefaultInstance()).getSynapsesList().stream()
                .filter(s -> s.getSynapseKey().equals(Entries.key(1))).findFirst().orElseThrow();
        assertTrue(relayed.getSignature().isEmpty(), "original signature not stored");
        assertEquals(good.toBuilder().clearSignature().build(), relayed);
        assertTrue(io.bittensor.crypto.SynapseSigner.verifyExpiry(relayed),
                "still authenticated by the expiry signature");
        Synapse local = stub.gossip(GossipBatch.getDefaultInstance()).getSynapsesList().stream()
                .filter(s -> s.getSynapseKey().equals(Entries.key(0))).findFirst().orElseThrow();
        assertTrue(io.bittensor.crypto.SynapseSigner.verify(local), "our own keep theirs");
    }

    @Test
    void forgedSignatureIsRejected() {
        MetagraphGrpcStub stub = start(b -> b);
        give(stub, Entries.signed(alice, Entries.key(1), 1, DIFFICULTY, later(60)));
        Map<String, Object> before = view();

        // Valid fields, a later expiry correctly signed... by someone else's signature bytes.
        Synapse honest = Entries.signed(alice, Entries.key(2), 2, DIFFICULTY, later(60));
        byte[] sig = honest.getSignature().toByteArray();
        sig[5] ^= 1;
        sendAndAwait(stub, batch(honest.toBuilder().setSignature(ByteString.copyFrom(sig))
                .build()), DropReason.BAD_SIGNATURE);

        // A relay pushing out a known entry's expiry without the owner's key.
        Synapse extended = node.synapse(Entries.key(1)).orElseThrow().toBuilder()
                .setExpiresAtMs(later(120)).build();
        sendAndAwait(stub, batch(extended), DropReason.BAD_EXPIRY_SIGNATURE);
        assertEquals(before, view());
    }

    @Test
    void replacementSignedByAnotherKeyIsRejected() {
        MetagraphGrpcStub stub = start(b -> b);
        Synapse original = Entries.signed(alice, Entries.key(1), 1, DIFFICULTY, later(60));
        give(stub, original);
        Map<String, Object> before = view();

        // Mallory's own valid signature, newer expiry, same synapse_key, her address.
        Synapse hijack = Entries.signed(mallory, Entries.key(1), 6666, DIFFICULTY, later(90));
        sendAndAwait(stub, batch(hijack), DropReason.KEY_MISMATCH);
        // Nor may anyone take over our own synapse.
        sendAndAwait(stub, batch(Entries.signed(mallory, Entries.key(0), 6666, DIFFICULTY,
                later(90))), DropReason.KEY_MISMATCH);
        assertEquals(before, view());

        // Alice herself may move it.
        Synapse moved = Entries.signed(alice, Entries.key(1), 2, DIFFICULTY, later(90));
        stub.gossip(batch(moved));
        await(() -> node.synapse(Entries.key(1)).orElseThrow().equals(moved), "alice's move");
    }

    @Test
    void proofOfWorkBelowDifficultyIsRejected() {
        MetagraphGrpcStub stub = start(b -> b);
        Map<String, Object> before = view();
        sendAndAwait(stub, batch(Entries.weakProof(alice, Entries.key(3), DIFFICULTY, later(60))),
                DropReason.LOW_PROOF_OF_WORK);
        assertEquals(before, view());
    }

    @Test
    void oversizedBatchIsRefusedWhole() {
        MetagraphGrpcStub stub = start(b -> b);
        Map<String, Object> before = view();
        Synapse good = Entries.signed(alice, Entries.key(1), 1, DIFFICULTY, later(60));
        List<GossipBatch> bad = new ArrayList<>();
        GossipBatch.Builder tooManyPeers = GossipBatch.newBuilder().addSynapses(good);
        for (int i = 0; i < 11; i++) {
            tooManyPeers.addPeers("10.0.0." + i + ":8092");
        }
        bad.add(tooManyPeers.build());
        GossipBatch.Builder tooManySynapses = GossipBatch.newBuilder().addPeers("10.0.0.1:8092");
        for (int i = 0; i < 1001; i++) {
            tooManySynapses.addSynapses(good);
        }
        bad.add(tooManySynapses.build());
        bad.add(GossipBatch.newBuilder().addPeers("10.0.0.1:8092")
                .addSynapses(good.toBuilder().setAddress("a".repeat(257))).build());
        bad.add(GossipBatch.newBuilder().addSynapses(good)
                .addPeers("h".repeat(400) + ":1").build());
        for (GossipBatch b : bad) {
            long refused = node.dropped(DropReason.MESSAGE_OVER_LIMITS);
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> stub.gossip(b));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
            assertEquals(refused + 1, node.dropped(DropReason.MESSAGE_OVER_LIMITS));
        }
        // A valid message afterwards is absorbed: so the refused ones left nothing behind.
        give(stub, Entries.unsigned("py", Entries.key(9), 9));
        Map<String, Object> after = view();
        after.remove(Entries.key(9));
        assertEquals(before, after);
    }

    @Test
    void unsignedEntriesFollowTheSetting() {
        MetagraphGrpcStub open = start(b -> b);
        give(open, Entries.unsigned("python-peer", Entries.key(4), 4));
        // Not relayed: we cannot tell when its owner died, so we never keep it alive.
        assertFalse(open.gossip(GossipBatch.getDefaultInstance()).getSynapsesList().stream()
                .anyMatch(s -> s.getSynapseKey().equals(Entries.key(4))));
        // It lives ttl after we last received it.
        clock.advance(node.config().ttl());
        assertFalse(node.synapse(Entries.key(4)).isPresent());
        close();

        MetagraphGrpcStub closed = start(b -> b.acceptUnsigned(false));
        sendAndAwait(closed, batch(Entries.unsigned("python-peer", Entries.key(4), 4)),
                DropReason.UNSIGNED);
        assertFalse(node.synapse(Entries.key(4)).isPresent());
    }

    @Test
    void aPythonPeerGetsItsOwnEntriesEchoedAndNoOneElses() {
        MetagraphGrpcStub stub = start(b -> b);
        // As an original peer gossips: its own entry (its address: we see it call from 127.0.0.1)
        // and one it heard about from someone else, neither with an owner expiry.
        Synapse own = Entries.unsigned("python-peer", Entries.key(5), 5).toBuilder()
                .setAddress("127.0.0.1").build();
        Synapse heard = Entries.unsigned("someone", Entries.key(6), 6); // at 10.0.0.1
        GossipBatch reply = stub.gossip(batch(own, heard));
        // The original drops even its own entry 15 s after it last heard it back: echo it.
        assertTrue(reply.getSynapsesList().contains(own), "own entry echoed");
        assertFalse(reply.getSynapsesList().stream()
                .anyMatch(s -> s.getSynapseKey().equals(Entries.key(6))), "another's entry not echoed");
        await(() -> node.synapse(Entries.key(6)).isPresent(), "absorbed");
        // ...and still never relayed to anyone else.
        assertFalse(stub.gossip(GossipBatch.getDefaultInstance()).getSynapsesList().stream()
                .anyMatch(s -> s.getExpiresAtMs() == 0 && !s.getSynapseKey().equals(Entries.key(0))));
    }

    @Test
    void sizeCapHoldsUnderTenfoldFlood() {
        int cap = 100;
        // Difficulty 1: a thousand valid entries are quick to make.
        MetagraphGrpcStub stub = start(b -> b.metagraphSize(cap).maxPeers(20).powDifficulty(1));
        List<Synapse> flood = new ArrayList<>();
        for (int i = 0; i < 10 * cap; i++) {
            // Expiries spread over 60..160 s in a scrambled order.
            long expiry = later(60) + (i * 7919L % (10 * cap)) * 100;
            flood.add(Entries.signed(i % 2 == 0 ? alice : mallory, Entries.key(1000 + i), i, 1,
                    expiry));
        }
        for (int from = 0; from < flood.size(); from += 250) {
            GossipBatch.Builder b = GossipBatch.newBuilder()
                    .addAllSynapses(flood.subList(from, from + 250));
            for (int p = 0; p < 10; p++) {
                b.addPeers("10.1." + from / 250 + "." + p + ":8092");
            }
            long seen = node.dropped(DropReason.EVICTED) + node.size();
            stub.gossip(b.build());
            await(() -> node.dropped(DropReason.EVICTED) + node.size() >= seen + 250,
                    "batch from " + from);
            assertTrue(node.size() <= cap, "size " + node.size());
        }
        assertEquals(cap, node.size());
        assertTrue(node.synapse(Entries.key(0)).isPresent(), "the local entry is never evicted");
        assertTrue(node.peerCount() <= 20, "peers " + node.peerCount());
        // The kept ones are those that lapse last.
        long minKept = node.synapses(Integer.MAX_VALUE).stream()
                .filter(s -> !s.getSynapseKey().equals(Entries.key(0)))
                .mapToLong(Synapse::getExpiresAtMs).min().orElseThrow();
        List<Synapse> sorted = new ArrayList<>(flood);
        sorted.sort(Comparator.comparingLong(Synapse::getExpiresAtMs).reversed());
        assertEquals(sorted.get(cap - 2).getExpiresAtMs(), minKept);
        assertEquals(10 * cap - (cap - 1), node.dropped(DropReason.EVICTED));
    }

    @Test
    void expiredAndTooDistantExpiriesAreRefused() {
        MetagraphGrpcStub stub = start(b -> b.maxExpiryAhead(Duration.ofMinutes(10)));
        sendAndAwait(stub, batch(Entries.signed(alice, Entries.key(5), 5, DIFFICULTY,
                clock.millis())), DropReason.EXPIRED);
        sendAndAwait(stub, batch(Entries.signed(alice, Entries.key(6), 6, DIFFICULTY,
                later(11 * 60))), DropReason.EXPIRY_TOO_FAR);
        Synapse fresh = Entries.signed(alice, Entries.key(7), 7, DIFFICULTY, later(60));
        Synapse older = Entries.signed(alice, Entries.key(7), 7, DIFFICULTY, later(30));
        give(stub, fresh);
        sendAndAwait(stub, batch(older), DropReason.STALE);
        assertEquals(fresh, node.synapse(Entries.key(7)).orElseThrow());
    }
}
