package io.bittensor.examples.hostile;

import com.google.protobuf.InvalidProtocolBufferException;
import io.bittensor.proto.GossipBatch;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import io.bittensor.proto.Synapse;
import io.bittensor.proto.TensorMessage;
import io.bittensor.tensor.TensorCodec;
import io.bittensor.transport.RawBytes;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.time.Duration;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Sends a live Axon and Metagraph every kind of hostile request ({@link HostileKind}), in a seeded
 * random mix, with a valid call every {@code validEvery} requests (a Forward, checked for an OK
 * reply of shape [batch, seq, 512], and a Gossip, checked to carry the target's own synapse),
 * and reports what each got back. Bytes are sent as chosen, through a byte-array marshaller.
 *
 * <pre>{@code
 * CampaignReport r = HostileCampaign.builder().axon("127.0.0.1", 8091).metagraph("127.0.0.1", 8092)
 *         .synapseKey(key).validInput(Modality.IMAGE, 1, 1, 1, 28, 28).requests(100_000).build().run();
 * }</pre>
 */
public final class HostileCampaign {
    private final String axonHost;
    private final int axonPort;
    private final String metagraphHost;
    private final int metagraphPort;
    private final String synapseKey;
    private final Modality modality;
    private final long[] shape;
    private final int requests;
    private final int validEvery;
    private final long seed;
    private final int maxAxonMessageBytes;
    private final Duration deadline;
    private final Set<HostileKind> kinds;
    private final LongConsumer progress;

    private HostileCampaign(Builder b) {
        this.axonHost = Objects.requireNonNull(b.axonHost, "axon");
        this.axonPort = b.axonPort;
        this.metagraphHost = Objects.requireNonNull(b.metagraphHost, "metagraph");
        this.metagraphPort = b.metagraphPort;
        this.synapseKey = Objects.requireNonNull(b.synapseKey, "synapseKey");
        this.modality = b.modality;
        this.shape = b.shape.clone();
        this.requests = b.requests;
        this.validEvery = b.validEvery;
        this.seed = b.seed;
        this.maxAxonMessageBytes = b.maxAxonMessageBytes;
        this.deadline = b.deadline;
        this.kinds = EnumSet.copyOf(b.kinds);
        this.progress = b.progress;
        if (requests < 0 || validEvery < 1) {
            throw new IllegalArgumentException("requests must be >= 0 and validEvery >= 1");
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Runs the campaign to the end; every channel it opened is closed when it returns. */
    public CampaignReport run() {
        HostileRequests gen = new HostileRequests(seed, synapseKey, modality, shape, maxAxonMessageBytes);
        HostileKind[] mix = mix();
        Random pick = new Random(seed ^ 0x5DEECE66DL);
        CampaignReport report = new CampaignReport();
        // The attacker's connections, and an honest peer's (valid calls), as on a real network.
        ManagedChannel axon = channel(axonHost, axonPort);
        ManagedChannel metagraph = channel(metagraphHost, metagraphPort);
        ManagedChannel honestAxon = channel(axonHost, axonPort);
        ManagedChannel honestMetagraph = channel(metagraphHost, metagraphPort);
        long start = System.nanoTime();
        try {
            for (int i = 0; i < requests; i++) {
                if (i % validEvery == 0) {
                    if ((i / validEvery) % 2 == 0) {
                        report.validForward(validForward(honestAxon, gen.validForward(), report));
                    } else {
                        report.validGossip(validGossip(honestMetagraph, gen.planted(), report));
                    }
                }
                HostileRequests.Probe p = gen.next(mix[pick.nextInt(mix.length)]);
                ManagedChannel ch = p.kind().target() == HostileKind.Target.AXON ? axon : metagraph;
                if (p.prelude() != null) {
                    send(ch, p.method(), p.prelude());
                }
                Answer a = send(ch, p.method(), p.body());
                if (a.outcome().equals(Outcomes.grpc("RESOURCE_EXHAUSTED"))) {
                    // grpc-java does not return the flow-control window of a refused oversized
                    // message: after a few, that connection stalls (others are unaffected,
                    // docs/reliability.md). The attacker dials again.
                    report.reconnect();
                    if (ch == axon) {
                        close(axon);
                        axon = channel(axonHost, axonPort);
                    } else {
                        close(metagraph);
                        metagraph = channel(metagraphHost, metagraphPort);
                    }
                }
                if (a.gossip() != null) {
                    report.plantedServed(planted(a.gossip(), gen.planted()));
                }
                report.record(p.kind(), a.outcome(), p.expected().contains(a.outcome()));
                if (progress != null && (i + 1) % 1000 == 0) {
                    progress.accept(i + 1);
                }
            }
            report.validForward(validForward(honestAxon, gen.validForward(), report));
            report.validGossip(validGossip(honestMetagraph, gen.planted(), report));
        } finally {
            report.elapsed(System.nanoTime() - start);
            close(axon);
            close(metagraph);
            close(honestAxon);
            close(honestMetagraph);
        }
        return report;
    }

    /** Each chosen kind repeated by its weight. */
    private HostileKind[] mix() {
        return kinds.stream().flatMap(k -> java.util.stream.Stream.generate(() -> k).limit(k.weight()))
                .toArray(HostileKind[]::new);
    }

    private record Answer(String outcome, TensorMessage tensors, GossipBatch gossip) {
    }

    private Answer send(ManagedChannel ch, String method, byte[] body) {
        byte[] reply;
        io.grpc.ClientCall<byte[], byte[]> call = ch.newCall(RawBytes.method(method),
                CallOptions.DEFAULT.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS));
        java.util.concurrent.Future<byte[]> f = ClientCalls.futureUnaryCall(call, body);
        try {
            // Our own bound too: a call whose deadline somehow never fires still ends here.
            reply = f.get(deadline.toMillis() + 5_000, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            return new Answer(Outcomes.grpc(io.grpc.Status.fromThrowable(e.getCause()).getCode().name()), null, null);
        } catch (java.util.concurrent.TimeoutException e) {
            f.cancel(true);
            return new Answer(Outcomes.NO_ANSWER, null, null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            f.cancel(true);
            return new Answer(Outcomes.NO_ANSWER, null, null);
        }
        try {
            if (method.equals(HostileRequests.GOSSIP)) {
                return new Answer(Outcomes.GOSSIP_OK, null, GossipBatch.parseFrom(reply));
            }
            TensorMessage m = TensorMessage.parseFrom(reply);
            return new Answer(m.getReturnCode().name(), m, null);
        } catch (InvalidProtocolBufferException e) {
            return new Answer("UNPARSABLE_REPLY", null, null);
        }
    }

    private boolean validForward(ManagedChannel axon, TensorMessage request, CampaignReport report) {
        Answer a = send(axon, HostileRequests.FORWARD, request.toByteArray());
        if (a.tensors() == null || a.tensors().getReturnCode() != ReturnCode.OK || a.tensors().getTensorsCount() != 1) {
            return failed(report, "Forward " + a.outcome());
        }
        INDArray y = TensorCodec.defaults().decode(a.tensors().getTensors(0));
        return (Arrays.equals(y.shape(), new long[] {shape[0], shape[1], 512})
                && Double.isFinite(y.norm2Number().doubleValue())) || failed(report, "Forward wrong output");
    }

    private boolean validGossip(ManagedChannel metagraph, Set<String> planted, CampaignReport report) {
        Answer a = send(metagraph, HostileRequests.GOSSIP, GossipBatch.getDefaultInstance().toByteArray());
        if (a.gossip() == null) {
            return failed(report, "Gossip " + a.outcome());
        }
        report.plantedServed(planted(a.gossip(), planted));
        return a.gossip().getSynapsesList().stream().anyMatch(s -> s.getSynapseKey().equals(synapseKey))
                || failed(report, "Gossip without the target's synapse");
    }

    private static boolean failed(CampaignReport report, String why) {
        report.validFailure(why);
        return false;
    }

    private static long planted(GossipBatch reply, Set<String> planted) {
        return reply.getSynapsesList().stream().map(Synapse::getSynapseKey).filter(planted::contains).count();
    }

    private static ManagedChannel channel(String host, int port) {
        return NettyChannelBuilder.forAddress(host, port).usePlaintext().maxInboundMessageSize(64 << 20).build();
    }

    private static void close(ManagedChannel ch) {
        ch.shutdownNow();
        try {
            ch.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Target, valid input and size of a campaign; defaults: 100 000 requests, a valid call every 50. */
    public static final class Builder {
        private String axonHost;
        private int axonPort;
        private String metagraphHost;
        private int metagraphPort;
        private String synapseKey;
        private Modality modality = Modality.IMAGE;
        private long[] shape = {1, 1, 1, 28, 28};
        private int requests = 100_000;
        private int validEvery = 50;
        private long seed = 1;
        private int maxAxonMessageBytes = 16 << 20;
        private Duration deadline = Duration.ofSeconds(10);
        private Set<HostileKind> kinds = EnumSet.allOf(HostileKind.class);
        private LongConsumer progress;

        private Builder() {
        }

        public Builder axon(String host, int port) {
            this.axonHost = host;
            this.axonPort = port;
            return this;
        }

        public Builder metagraph(String host, int port) {
            this.metagraphHost = host;
            this.metagraphPort = port;
            return this;
        }

        /** The synapse the target serves (and advertises in gossip). */
        public Builder synapseKey(String key) {
            this.synapseKey = key;
            return this;
        }

        /** What a valid Forward sends: default IMAGE [1, 1, 1, 28, 28] (the MNIST neuron's input). */
        public Builder validInput(Modality modality, long... shape) {
            this.modality = modality;
            this.shape = shape.clone();
            return this;
        }

        public Builder requests(int n) {
            this.requests = n;
            return this;
        }

        public Builder validEvery(int n) {
            this.validEvery = n;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** The target Axon's maxInboundMessageBytes (default 16 MiB): oversized requests exceed it by one. */
        public Builder maxAxonMessageBytes(int bytes) {
            this.maxAxonMessageBytes = bytes;
            return this;
        }

        /** Per-call deadline; an answer slower than this counts as no answer. Default 10 s. */
        public Builder deadline(Duration deadline) {
            this.deadline = deadline;
            return this;
        }

        public Builder kinds(Set<HostileKind> kinds) {
            this.kinds = EnumSet.copyOf(kinds);
            return this;
        }

        /** Called with the number of requests sent, every 1000. */
        public Builder progress(LongConsumer progress) {
            this.progress = progress;
            return this;
        }

        public HostileCampaign build() {
            return new HostileCampaign(this);
        }
    }
}
