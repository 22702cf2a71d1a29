package io.bittensor.examples.hostile;

import com.google.protobuf.ByteString;
import io.bittensor.crypto.Keypair;
import io.bittensor.crypto.ProofOfWork;
import io.bittensor.crypto.RequestSigner;
import io.bittensor.crypto.SynapseSigner;
import io.bittensor.proto.GossipBatch;
import io.bittensor.proto.Modality;
import io.bittensor.proto.Synapse;
import io.bittensor.proto.Tensor;
import io.bittensor.proto.TensorMessage;
import io.bittensor.tensor.TensorCodec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Makes the bytes of each kind of hostile request, and says which answers are the right ones.
 * Deterministic for a seed. Costly material (entries with a valid proof of work, big buffers) is
 * made once and reused.
 */
final class HostileRequests {
    static final String FORWARD = "Bittensor/Forward";
    static final String BACKWARD = "Bittensor/Backward";
    static final String GOSSIP = "Metagraph/Gossip";
    /** The metagraph's proof-of-work difficulty (MetagraphConfig's default). */
    private static final int POW_DIFFICULTY = 2;
    private static final int FORGED_POOL = 512;

    /** One request: where it goes, its bytes, and the outcomes that count as a right answer. */
    record Probe(HostileKind kind, String method, byte[] body, byte[] prelude, Set<String> expected) {
    }

    private final Random random;
    private final String synapseKey;
    private final TensorMessage valid;       // a valid Forward request
    private final TensorMessage validBackward;
    private final Keypair caller = Keypair.generate();
    private final int maxAxonMessageBytes;
    private final List<Synapse> forged = new ArrayList<>();
    private final Set<String> forgedKeys = new HashSet<>();
    private byte[] oversized;
    private long lastNounce;

    HostileRequests(long seed, String synapseKey, Modality modality, long[] shape, int maxAxonMessageBytes) {
        this.random = new Random(seed);
        this.synapseKey = synapseKey;
        this.maxAxonMessageBytes = maxAxonMessageBytes;
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.rand(DataType.FLOAT, shape);
        INDArray g = Nd4j.rand(DataType.FLOAT, shape[0], shape[1], 512).subi(0.5).muli(1e-3);
        TensorCodec codec = TensorCodec.defaults();
        this.valid = TensorMessage.newBuilder().setVersion(TensorCodec.WIRE_VERSION).setSynapseKey(synapseKey)
                .addTensors(codec.encode(x, modality)).build();
        this.validBackward = valid.toBuilder().addTensors(codec.encode(g, Modality.TENSOR)).build();
        Keypair liar = Keypair.generate();
        for (int i = 0; i < FORGED_POOL; i++) {
            Keypair claimed = Keypair.generate();
            byte[] k = new byte[32];
            random.nextBytes(k);
            Synapse s = Synapse.newBuilder().setVersion("0.0.0").setNeuronKey(claimed.publicKeyHex())
                    .setSynapseKey("0x" + hex(k)).setAddress("10.66.0." + (i % 250 + 1))
                    .setPort(Integer.toString(8000 + i)).build();
            s = ProofOfWork.solve(s, POW_DIFFICULTY);
            // Signed by someone else than the claimed neuron_key: a forgery.
            Synapse signedByLiar = SynapseSigner.sign(s.toBuilder().setNeuronKey(liar.publicKeyHex()).build(), liar);
            forged.add(s.toBuilder().setSignature(signedByLiar.getSignature()).build());
            forgedKeys.add(s.getSynapseKey());
        }
    }

    /** Synapse keys of every forged, expired or low-proof entry sent: none may ever be served back. */
    Set<String> planted() {
        return forgedKeys;
    }

    TensorMessage validForward() {
        return valid;
    }

    /** A request of {@code kind}. */
    Probe next(HostileKind kind) {
        Set<String> refusal = Outcomes.AXON_REFUSALS;
        return switch (kind) {
            case RANDOM_BYTES -> new Probe(kind, forwardOrBackward(), randomBytes(1 + random.nextInt(2048)),
                    null, Outcomes.withInvalid(refusal));
            case TRUNCATED_PROTO -> {
                byte[] b = (random.nextBoolean() ? valid : validBackward).toByteArray();
                yield new Probe(kind, forwardOrBackward(), Arrays.copyOf(b, 1 + random.nextInt(b.length - 1)),
                        null, Outcomes.withInvalid(refusal));
            }
            case OVERSIZED_PROTO -> new Probe(kind, FORWARD, oversized(), null,
                    Set.of(Outcomes.grpc("RESOURCE_EXHAUSTED")));
            case LYING_SHAPE -> {
                Tensor t = valid.getTensors(0);
                Tensor.Builder lie = t.toBuilder().setShape(0, t.getShape(0) + 1 + random.nextInt(4));
                if (random.nextBoolean()) { // or the buffer lies instead
                    lie = t.toBuilder().setBuffer(t.getBuffer().substring(0, random.nextInt(t.getBuffer().size())));
                }
                yield axon(kind, FORWARD, valid.toBuilder().setTensors(0, lie), Outcomes.of("MALFORMED_TENSOR"));
            }
            case NEGATIVE_DIM -> {
                Tensor t = valid.getTensors(0);
                int dim = random.nextInt(t.getShapeCount());
                boolean fwd = random.nextBoolean();
                yield axon(kind, fwd ? FORWARD : BACKWARD, validFor(fwd).toBuilder()
                        .setTensors(0, t.toBuilder().setShape(dim, -1 - random.nextInt(1 << 20))),
                        Outcomes.of("BAD_SHAPE"));
            }
            case OVERFLOWING_DIM -> {
                Tensor.Builder t = valid.getTensors(0).toBuilder();
                for (int i = 0; i < t.getShapeCount(); i++) {
                    t.setShape(i, random.nextBoolean() ? Long.MAX_VALUE : (1L << 31) + random.nextInt(1000));
                }
                yield axon(kind, FORWARD, valid.toBuilder().setTensors(0, t),
                        Outcomes.of("TOO_LARGE", "BAD_SHAPE", "MALFORMED_TENSOR"));
            }
            case UNKNOWN_ENUM -> {
                Tensor.Builder t = valid.getTensors(0).toBuilder();
                if (random.nextBoolean()) {
                    t.setModalityValue(3 + random.nextInt(100));
                } else {
                    t.setDtypeValue(6 + random.nextInt(100));
                }
                boolean fwd = random.nextBoolean();
                yield axon(kind, fwd ? FORWARD : BACKWARD, validFor(fwd).toBuilder().setTensors(0, t),
                        Outcomes.of("MALFORMED_TENSOR", "BAD_DTYPE"));
            }
            case MISSING_TENSOR -> random.nextBoolean()
                    ? axon(kind, FORWARD, valid.toBuilder().clearTensors(), Outcomes.of("BAD_SHAPE"))
                    : axon(kind, BACKWARD, validBackward.toBuilder().removeTensors(1), Outcomes.of("BAD_SHAPE"));
            case EXTRA_TENSORS -> {
                boolean fwd = random.nextBoolean();
                TensorMessage.Builder b = validFor(fwd).toBuilder();
                for (int i = 1 + random.nextInt(8); i > 0; i--) {
                    b.addTensors(valid.getTensors(0));
                }
                yield axon(kind, fwd ? FORWARD : BACKWARD, b, Outcomes.of("BAD_SHAPE"));
            }
            case HUGE_STRING -> {
                // Huge, yet well inside the message limit: the header check, not gRPC, refuses it.
                String huge = "x".repeat(Math.min(1 << 20, maxAxonMessageBytes / 4));
                TensorMessage.Builder b = valid.toBuilder();
                switch (random.nextInt(3)) {
                    case 0 -> b.setSynapseKey(huge);
                    case 1 -> b.setNeuronKey(huge);
                    default -> b.setVersion(huge);
                }
                yield axon(kind, FORWARD, b, Outcomes.of("BAD_REQUEST"));
            }
            case BACKWARD_WITHOUT_FORWARD -> axon(kind, BACKWARD, validBackward.toBuilder(), Outcomes.of("OK"));
            case BAD_SIGNATURE -> {
                TensorMessage signed = RequestSigner.sign(valid, caller, nowMicros());
                byte[] sig = signed.getSignature().toByteArray();
                sig[random.nextInt(sig.length)] ^= (byte) (1 + random.nextInt(255));
                yield axon(kind, FORWARD, signed.toBuilder().setSignature(ByteString.copyFrom(sig)),
                        Outcomes.of("UNAUTHENTICATED"));
            }
            case REPLAY -> {
                byte[] signed = RequestSigner.sign(valid, caller, nowMicros()).toByteArray();
                yield new Probe(kind, FORWARD, signed, signed, Outcomes.withOverloaded(Set.of("UNAUTHENTICATED")));
            }
            case GOSSIP_RANDOM_BYTES -> new Probe(kind, GOSSIP, randomBytes(1 + random.nextInt(2048)), null,
                    Set.of(Outcomes.grpc("INVALID_ARGUMENT"), Outcomes.GOSSIP_OK));
            case GOSSIP_FORGED -> gossip(kind, entries(s -> s));
            case GOSSIP_EXPIRED -> gossip(kind, entries(s -> s.toBuilder()
                    .setExpiresAtMs(1 + random.nextInt(1_000_000))
                    .setExpirySignature(ByteString.copyFrom(randomBytes(64))).build()));
            case GOSSIP_LOW_POW -> gossip(kind, entries(s -> s.toBuilder().setNounce(0)
                    .setProofOfWork(ByteString.copyFrom(new byte[32])).build()));
            case GOSSIP_OVERSIZED -> {
                GossipBatch.Builder b = GossipBatch.newBuilder();
                switch (random.nextInt(4)) {
                    case 0 -> { // more than 10 peers
                        for (int i = 0; i < 11 + random.nextInt(100); i++) {
                            b.addPeers("10.66.1." + (i % 250) + ":" + (9000 + i));
                        }
                    }
                    case 1 -> { // more than 1000 synapses
                        for (int i = 0; i <= 1000; i++) {
                            b.addSynapses(forged.get(i % forged.size()));
                        }
                    }
                    case 2 -> b.addSynapses(forged.get(0).toBuilder().setAddress("a".repeat(300 + random.nextInt(1 << 16))));
                    default -> b.addPeers("h".repeat(5 << 20)); // over the 4 MiB message limit
                }
                yield new Probe(kind, GOSSIP, b.build().toByteArray(), null,
                        Set.of(Outcomes.grpc("INVALID_ARGUMENT"), Outcomes.grpc("RESOURCE_EXHAUSTED")));
            }
        };
    }

    private Probe axon(HostileKind kind, String method, TensorMessage.Builder b, Set<String> expected) {
        return new Probe(kind, method, b.build().toByteArray(), null, Outcomes.withOverloaded(expected));
    }

    private Probe gossip(HostileKind kind, List<Synapse> entries) {
        return new Probe(kind, GOSSIP, GossipBatch.newBuilder().addAllSynapses(entries).build().toByteArray(),
                null, Set.of(Outcomes.GOSSIP_OK));
    }

    /** A flood: usually a few entries, sometimes the full 1000 a message may carry. */
    private List<Synapse> entries(java.util.function.UnaryOperator<Synapse> f) {
        int n = random.nextInt(10) == 0 ? 1000 : 1 + random.nextInt(20);
        List<Synapse> out = new ArrayList<>(n);
        int start = random.nextInt(forged.size());
        for (int i = 0; i < n; i++) {
            out.add(f.apply(forged.get((start + i) % forged.size())));
        }
        return out;
    }

    private TensorMessage validFor(boolean forward) {
        return forward ? valid : validBackward;
    }

    private String forwardOrBackward() {
        return random.nextBoolean() ? FORWARD : BACKWARD;
    }

    private byte[] oversized() {
        if (oversized == null) {
            Tensor t = valid.getTensors(0).toBuilder().setBuffer(ByteString.copyFrom(new byte[maxAxonMessageBytes])).build();
            oversized = valid.toBuilder().setTensors(0, t).build().toByteArray();
        }
        return oversized;
    }

    private byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    /** Fresh and never repeated, so only the REPLAY kind replays. */
    private long nowMicros() {
        lastNounce = Math.max(System.currentTimeMillis() * 1000, lastNounce + 1);
        return lastNounce;
    }

    private static String hex(byte[] b) {
        StringBuilder s = new StringBuilder(b.length * 2);
        for (byte x : b) {
            s.append(Character.forDigit((x >> 4) & 15, 16)).append(Character.forDigit(x & 15, 16));
        }
        return s.toString();
    }
}
