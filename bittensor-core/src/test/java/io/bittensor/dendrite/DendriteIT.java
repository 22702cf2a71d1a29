package io.bittensor.dendrite;

import static io.bittensor.neuron.TestNeurons.synapse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.axon.Axon;
import io.bittensor.neuron.TestNeurons;
import io.bittensor.proto.BittensorGrpc;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import io.bittensor.proto.Synapse;
import io.bittensor.proto.TensorMessage;
import io.bittensor.tensor.TensorCodec;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Dendrite against real peers on 127.0.0.1: healthy, dead, slow, lying, broken. */
class DendriteIT {
    private final List<AutoCloseable> closeMe = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = closeMe.size() - 1; i >= 0; i--) {
            closeMe.get(i).close();
        }
    }

    private Axon axon(Axon.Builder b) {
        Axon a = b.bindAddress("127.0.0.1").port(0).ioThreads(1).shutdownGrace(Duration.ofMillis(200))
                .maxGradientNorm(Double.POSITIVE_INFINITY).build().start();
        closeMe.add(a);
        return a;
    }

    private Dendrite dendrite(Dendrite.Builder b) {
        Dendrite d = b.ioThreads(1).build();
        closeMe.add(d);
        return d;
    }

    /** A peer speaking the wire protocol but replying [batch, seq, 7]: a shape we cannot use. */
    private int wrongShapePeer() throws IOException {
        return fakePeer(new BittensorGrpc.BittensorImplBase() {
            @Override
            public void forward(TensorMessage request, StreamObserver<TensorMessage> out) {
                long[] s = TensorCodec.defaults().decode(request.getTensors(0)).shape();
                out.onNext(TensorMessage.newBuilder().addTensors(TensorCodec.defaults()
                        .encode(Nd4j.ones(DataType.FLOAT, s[0], s[1], 7), Modality.TENSOR)).build());
                out.onCompleted();
            }
        });
    }

    /** Serves {@code service} on 127.0.0.1 (closed after the test); returns its port. */
    private int fakePeer(BittensorGrpc.BittensorImplBase service) throws IOException {
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).directExecutor()
                .addService(service).build().start();
        closeMe.add(() -> {
            server.shutdownNow();
            server.awaitTermination(5, TimeUnit.SECONDS);
        });
        return server.getPort();
    }

    /**
     * A peer behaving as the original Python one: Forward answers [batch, seq, 512] of ones,
     * Backward always answers a [1, 1] placeholder.
     */
    private int pythonLikePeer() throws IOException {
        TensorCodec codec = TensorCodec.defaults();
        return fakePeer(new BittensorGrpc.BittensorImplBase() {
            @Override
            public void forward(TensorMessage request, StreamObserver<TensorMessage> out) {
                long[] s = codec.decode(request.getTensors(0)).shape();
                out.onNext(TensorMessage.newBuilder().addTensors(
                        codec.encode(Nd4j.ones(DataType.FLOAT, s[0], s[1], 512), Modality.TENSOR)).build());
                out.onCompleted();
            }

            @Override
            public void backward(TensorMessage request, StreamObserver<TensorMessage> out) {
                out.onNext(TensorMessage.newBuilder().addTensors(
                        codec.encode(Nd4j.zeros(DataType.FLOAT, 1, 1), Modality.TENSOR)).build());
                out.onCompleted();
            }
        });
    }

    private static int deadPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort(); // closed again at once: nobody listens there
        }
    }

    @Test
    void sixteenPeersGiveValuesZerosAndCodesWithinTheDeadline() throws Exception {
        TestNeurons.Blocking slow = new TestNeurons.Blocking();
        Axon axon = axon(Axon.builder().workerThreads(4).serve("slow", slow).serve("nan", new TestNeurons.NaNs()));
        Axon axon2 = axon(Axon.builder().workerThreads(2));
        closeMe.add(slow.release::countDown); // closed first: frees the worker before the axons close
        List<Synapse> peers = new ArrayList<>();
        peers.add(synapse("dead", "127.0.0.1", deadPort()));
        peers.add(synapse("slow", "127.0.0.1", axon.port()));
        peers.add(synapse("wrong", "127.0.0.1", wrongShapePeer()));
        peers.add(synapse("nan", "127.0.0.1", axon.port()));
        for (int i = 0; i < 12; i++) { // healthy, spread over two axons, each its own factor
            Axon host = i % 2 == 0 ? axon : axon2;
            host.serve("ok" + i, new TestNeurons.Scale(i + 1));
            peers.add(synapse("ok" + i, "127.0.0.1", host.port()));
        }
        Duration deadline = Duration.ofMillis(1000); // generous: 2 shared cores, first calls connect
        Dendrite dendrite = dendrite(Dendrite.builder().timeout(deadline).banInitial(Duration.ofMinutes(1))
                .banMax(Duration.ofMinutes(2))); // bans outlast the test on a real clock
        INDArray x = Nd4j.rand(DataType.FLOAT, 3, 2, 512);
        List<INDArray> inputs = java.util.Collections.nCopies(16, x);

        long t0 = System.nanoTime();
        DendriteCall call = dendrite.forward(peers, inputs, Modality.TENSOR);
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

        List<ReturnCode> codes = call.results().stream().map(PeerResult::code).toList();
        assertEquals(List.of(ReturnCode.UNAVAILABLE, ReturnCode.TIMEOUT, ReturnCode.BAD_REPLY, ReturnCode.OK),
                codes.subList(0, 4), call.results().toString());
        for (int i = 0; i < 3; i++) {
            assertEquals(0.0, call.outputs().get(i).amaxNumber().doubleValue(), "zeros for peer " + i);
            assertEquals(List.of(3L, 2L, 512L), java.util.Arrays.stream(call.outputs().get(i).shape()).boxed().toList());
        }
        assertEquals(0.0, call.outputs().get(3).amaxNumber().doubleValue(), "NaN becomes 0");
        for (int i = 0; i < 12; i++) {
            assertEquals(ReturnCode.OK, codes.get(4 + i));
            assertTrue(x.mul(i + 1).equalsWithEps(call.outputs().get(4 + i), 1e-5), "peer ok" + i);
        }
        // Concurrent: the whole call takes one deadline, not the sum of the failures'.
        assertTrue(elapsedMs < deadline.toMillis() + 700, "took " + elapsedMs + " ms");
        assertTrue(call.results().get(1).latency().toMillis() >= deadline.toMillis() - 50);

        // Backward: healthy peers answer c·G; failed ones are not called and give zeros.
        INDArray g = Nd4j.rand(DataType.FLOAT, 3, 2, 512);
        List<INDArray> dx = call.backward(java.util.Collections.nCopies(16, g));
        for (int i = 0; i < 3; i++) {
            assertEquals(0.0, dx.get(i).amaxNumber().doubleValue());
            assertEquals(codes.get(i), call.backwardResults().get(i).code());
        }
        for (int i = 0; i < 12; i++) {
            assertEquals(ReturnCode.OK, call.backwardResults().get(4 + i).code());
            assertTrue(g.mul(i + 1).equalsWithEps(dx.get(4 + i), 1e-5));
        }
        // The failed peers are banned now: answered locally.
        assertEquals(ReturnCode.BANNED, dendrite.forward(peers.subList(0, 1), List.of(x), Modality.TENSOR)
                .results().get(0).code());
    }

    /**
     * Zero-copy receive on real loopback gRPC: a multi-frame reply lands in a native block and the
     * output views it, bit for bit what the peer sent (NaN payloads and -0.0 included), until the
     * call is closed; a call never closed keeps its output readable while others reuse blocks.
     */
    @Test
    void aReplyDecodedStraightFromTheReceivedBytesIsWhatWasSent() throws Exception {
        Axon axon = axon(Axon.builder().workerThreads(1).serve("id", new TestNeurons.Scale(1)));
        Dendrite dendrite = dendrite(Dendrite.builder().signRequests(false));
        List<Synapse> peer = List.of(synapse("id", "127.0.0.1", axon.port()));
        float[] values = new float[8 * 64 * 512]; // 1 MiB (a view: >= VIEW_MIN_BYTES), many HTTP/2 frames
        java.util.Random rnd = new java.util.Random(11);
        for (int i = 0; i < values.length; i++) {
            values[i] = i % 97 == 0 ? Float.intBitsToFloat(0x7fc00000 | rnd.nextInt(1 << 22))
                    : i % 89 == 0 ? -0.0f : (float) rnd.nextGaussian();
        }
        INDArray x = Nd4j.createFromArray(values).reshape(8, 64, 512);
        DendriteCall kept = dendrite.forward(peer, List.of(x), Modality.TENSOR);
        INDArray out = kept.outputs().get(0);
        assertEquals(ReturnCode.OK, kept.results().get(0).code());
        float[] got = out.data().asFloat();
        for (int i = 0; i < values.length; i++) {
            // the Dendrite zeroes non-finite values; everything else is bit-exact
            int expected = Float.isFinite(values[i]) ? Float.floatToRawIntBits(values[i]) : 0;
            if (expected != Float.floatToRawIntBits(got[i])) {
                throw new AssertionError("element " + i + ": sent " + values[i] + ", got " + got[i]);
            }
        }
        for (int i = 0; i < 5; i++) {
            try (DendriteCall other = dendrite.forward(peer, List.of(x.neg()), Modality.TENSOR)) {
                assertEquals(ReturnCode.OK, other.results().get(0).code());
                assertEquals(-got[1], other.outputs().get(0).getFloat(0, 0, 1));
            }
        }
        float[] again = out.data().asFloat();
        assertTrue(java.util.Arrays.equals(got, again), "a call not closed keeps its block");
        kept.close();
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> out.getFloat(0, 0, 0));
    }

    @Test
    void concurrentCallersGetTheirOwnOutputsAndClosedCallsGiveTheirArraysBack() throws Exception {
        Axon axon = axon(Axon.builder().workerThreads(2).serve("id", new TestNeurons.Scale(1)));
        Dendrite dendrite = dendrite(Dendrite.builder().signRequests(false));
        List<Synapse> peer = List.of(synapse("id", "127.0.0.1", axon.port()));
        int threads = 4;
        int calls = 40;
        java.util.concurrent.ExecutorService callers = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            List<java.util.concurrent.Future<Integer>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                done.add(callers.submit(() -> {
                    int checked = 0;
                    for (int c = 0; c < calls; c++) {
                        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 512).addi(1000 * id + c);
                        try (DendriteCall call = dendrite.forward(peer, List.of(x), Modality.TENSOR)) {
                            assertEquals(ReturnCode.OK, call.results().get(0).code());
                            assertEquals(x, call.outputs().get(0), "caller " + id + ", call " + c);
                            checked++;
                        }
                    }
                    return checked;
                }));
            }
            for (var f : done) {
                assertEquals(calls, f.get(60, TimeUnit.SECONDS));
            }
        } finally {
            callers.shutdownNow();
            assertTrue(callers.awaitTermination(10, TimeUnit.SECONDS));
        }
        assertTrue(dendrite.idleReplyBytes() > 0, "closed calls gave their outputs back");
        assertTrue(dendrite.idleRequestBytes() > 0, "and their encoded inputs");

        // A closed call's array serves the next reply; its outputs are refused from then on.
        INDArray a = Nd4j.rand(DataType.FLOAT, 2, 3, 512);
        INDArray b = Nd4j.rand(DataType.FLOAT, 2, 3, 512);
        DendriteCall first = dendrite.forward(peer, List.of(a), Modality.TENSOR);
        INDArray firstOut = first.outputs().get(0);
        assertEquals(a, firstOut);
        first.close();
        first.close(); // idempotent
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, first::outputs);
        INDArray g = Nd4j.rand(DataType.FLOAT, 2, 3, 512);
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> first.backward(List.of(g)));
        long blocks = dendrite.replyBlockAllocations();
        try (DendriteCall second = dendrite.forward(peer, List.of(b), Modality.TENSOR)) {
            // A small output is a copy in a pooled array: the closed call's, reused warm; the
            // reply's native block went back at once and serves this reply too.
            org.junit.jupiter.api.Assertions.assertSame(firstOut, second.outputs().get(0), "reused warm");
            assertEquals(blocks, dendrite.replyBlockAllocations(), "the reply block, reused");
            assertEquals(b, second.outputs().get(0));
            // Backward sends the inputs as sent in Forward, from the buffer the call still holds.
            assertTrue(g.equalsWithEps(second.backward(List.of(g)).get(0), 1e-6));
        }
        // A call never closed keeps its output, and the bytes of its input, while later calls
        // come and go through the pools: its Backward sends what its Forward sent.
        axon.serve("inputs", new io.bittensor.neuron.Neuron() {
            @Override
            public INDArray forwardTensor(INDArray x) {
                return x.dup();
            }

            @Override
            public INDArray backward(Modality m, INDArray inputs, INDArray grads) {
                return inputs.dup(); // answers with the inputs it was sent
            }
        });
        List<Synapse> echo = List.of(synapse("inputs", "127.0.0.1", axon.port()));
        DendriteCall kept = dendrite.forward(echo, List.of(a), Modality.TENSOR);
        for (int i = 0; i < 3; i++) {
            dendrite.forward(echo, List.of(b), Modality.TENSOR).close();
        }
        assertEquals(a, kept.outputs().get(0));
        assertEquals(a, kept.backward(List.of(g)).get(0));
        kept.close();
    }

    @Test
    void aFailedBackwardNeverBansThePeer() throws IOException {
        Dendrite dendrite = dendrite(Dendrite.builder().banInitial(Duration.ofMinutes(1)));
        List<Synapse> peer = List.of(synapse("py", "127.0.0.1", pythonLikePeer()));
        List<INDArray> x = List.of(Nd4j.rand(DataType.FLOAT, 2, 1, 4));
        for (int step = 0; step < 3; step++) {
            DendriteCall call = dendrite.forward(peer, x, Modality.TENSOR);
            assertEquals(ReturnCode.OK, call.results().get(0).code(), "forward of step " + step);
            List<INDArray> grads = call.backward(List.of(Nd4j.ones(DataType.FLOAT, 2, 1, 512)));
            assertEquals(ReturnCode.BAD_REPLY, call.backwardResults().get(0).code());
            assertEquals(0.0, grads.get(0).sumNumber().doubleValue(), "zeros for a failed backward");
            assertEquals(Duration.ZERO, dendrite.bannedFor("py"));
        }
    }

    @Test
    void aFailingPeerIsBannedForDoublingTimesAndClearedBySuccess() {
        TestNeurons.Broken broken = new TestNeurons.Broken();
        Axon axon = axon(Axon.builder().serve("b", broken));
        AtomicLong now = new AtomicLong();
        Dendrite dendrite = dendrite(Dendrite.builder().clockNanos(now::get)
                .banInitial(Duration.ofSeconds(1)).banMax(Duration.ofSeconds(4)));
        List<Synapse> peer = List.of(synapse("b", "127.0.0.1", axon.port()));
        List<INDArray> x = List.of(Nd4j.rand(DataType.FLOAT, 1, 1, 512));
        java.util.function.Supplier<ReturnCode> call =
                () -> dendrite.forward(peer, x, Modality.TENSOR).results().get(0).code();

        long[] expectedBansS = {1, 2, 4, 4}; // doubling, capped
        for (long banS : expectedBansS) {
            int before = broken.calls.get();
            assertEquals(ReturnCode.MODEL_ERROR, call.get());
            assertEquals(before + 1, broken.calls.get());
            assertEquals(Duration.ofSeconds(banS), dendrite.bannedFor("b"));
            now.addAndGet(TimeUnit.SECONDS.toNanos(banS) - 1);
            assertEquals(ReturnCode.BANNED, call.get(), "still banned 1 ns before the end");
            assertEquals(before + 1, broken.calls.get(), "no network call while banned");
            now.incrementAndGet();
        }
        broken.healed = true;
        assertEquals(ReturnCode.OK, call.get());
        assertEquals(Duration.ZERO, dendrite.bannedFor("b"));
        broken.healed = false;
        assertEquals(ReturnCode.MODEL_ERROR, call.get());
        assertEquals(Duration.ofSeconds(1), dendrite.bannedFor("b"), "success cleared the history");
    }

    @Test
    void channelsAreReusedBoundedAndOwnAddressGoesToLocalhost() {
        // Every interface, so 127.0.0.2 and localhost reach it too.
        Axon axon = Axon.builder().port(0).ioThreads(1).serve("k", new TestNeurons.Scale(1)).build().start();
        closeMe.add(axon);
        int port = axon.port();
        Dendrite dendrite = dendrite(Dendrite.builder().maxChannels(2).remoteIp("203.0.113.9"));
        List<INDArray> x = List.of(Nd4j.rand(DataType.FLOAT, 1, 1, 512));
        // Three endpoints of the same server (all of 127/8 is loopback on Linux).
        Synapse a = synapse("k", "127.0.0.1", port);
        Synapse b = synapse("k", "127.0.0.2", port);
        Synapse c = synapse("k", "127.0.0.3", port);
        for (Synapse s : List.of(a, b, a, a, b)) {
            assertEquals(ReturnCode.OK, dendrite.forward(List.of(s), x, Modality.TENSOR).results().get(0).code());
        }
        assertEquals(2, dendrite.openChannels(), "reused, not one per call");
        assertEquals(ReturnCode.OK, dendrite.forward(List.of(c), x, Modality.TENSOR).results().get(0).code());
        assertEquals(2, dendrite.openChannels());
        assertEquals(1, dendrite.evictedChannels());
        assertFalse(dendrite.hasChannel(a), "a was least recently used");
        assertTrue(dendrite.hasChannel(b) && dendrite.hasChannel(c));

        // A synapse at our own advertised (here unroutable) address is called on localhost.
        Synapse own = synapse("k", "203.0.113.9", port);
        assertEquals(ReturnCode.OK, dendrite.forward(List.of(own), x, Modality.TENSOR).results().get(0).code());
        assertEquals("localhost:" + port, dendrite.endpoint(own));
    }

    @Test
    void manyEndpointsAddNoThreadsOutsideTheDendrite() {
        Axon axon = Axon.builder().port(0).ioThreads(1).serve("k", new TestNeurons.Scale(1)).build().start();
        closeMe.add(axon);
        Dendrite dendrite = dendrite(Dendrite.builder().maxChannels(8));
        List<Synapse> many = new ArrayList<>();
        List<INDArray> x = new ArrayList<>();
        for (int h = 1; h <= 96; h++) { // 96 endpoints of one server through an 8-channel pool
            many.add(synapse("k", "127.0.0." + h, axon.port()));
            x.add(Nd4j.rand(DataType.FLOAT, 1, 1, 512));
        }
        java.util.Set<Long> before = liveThreadIds();
        for (int round = 0; round < 3; round++) {
            DendriteCall call = dendrite.forward(many, x, Modality.TENSOR);
            assertTrue(call.results().stream().allMatch(r -> r.code() == ReturnCode.OK), "every endpoint answered: " + call.results().stream().filter(r -> r.code() != ReturnCode.OK).toList());
        }
        // gRPC's process-wide cached executor (name resolution) would grow with the endpoints;
        // the Dendrite must resolve on its own bounded threads.
        List<String> grown = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> !before.contains(t.getId()) && t.getName().startsWith("grpc-default-executor"))
                .map(Thread::getName).toList();
        assertTrue(grown.isEmpty(), "threads started outside the Dendrite: " + grown);
        assertEquals(8, dendrite.openChannels());
    }

    private static java.util.Set<Long> liveThreadIds() {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getId)
                .collect(java.util.stream.Collectors.toSet());
    }
}
