package io.bittensor.axon;

import static io.bittensor.neuron.TestNeurons.await;
import static io.bittensor.neuron.TestNeurons.linear;
import static io.bittensor.neuron.TestNeurons.linearInputGrad;
import static io.bittensor.neuron.TestNeurons.synapse;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.bittensor.crypto.Keypair;
import io.bittensor.crypto.RequestSigner;
import io.bittensor.dendrite.Dendrite;
import io.bittensor.dendrite.DendriteCall;
import io.bittensor.neuron.Neuron;
import io.bittensor.neuron.SameDiffNeuron;
import io.bittensor.neuron.TestNeurons;
import io.bittensor.proto.BittensorGrpc;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import io.bittensor.proto.Synapse;
import io.bittensor.proto.Tensor;
import io.bittensor.proto.TensorMessage;
import io.bittensor.tensor.TensorCodec;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;

/** Axon (and Dendrite as its client) on real gRPC over 127.0.0.1. */
class AxonIT {
    private static final TensorCodec CODEC = TensorCodec.defaults();
    private final List<AutoCloseable> closeMe = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = closeMe.size() - 1; i >= 0; i--) {
            closeMe.get(i).close();
        }
    }

    private <T extends AutoCloseable> T owned(T c) {
        closeMe.add(c);
        return c;
    }

    private Axon start(Axon.Builder b) {
        return owned(b.bindAddress("127.0.0.1").port(0).shutdownGrace(Duration.ofSeconds(1)).build().start());
    }

    private Dendrite dendrite() {
        return owned(Dendrite.builder().timeout(Duration.ofSeconds(10)).ioThreads(1).build());
    }

    private BittensorGrpc.BittensorBlockingStub raw(Axon axon) {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", axon.port()).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
        closeMe.add(() -> {
            ch.shutdownNow();
            ch.awaitTermination(5, TimeUnit.SECONDS);
        });
        return BittensorGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    /** One graph serving all three modalities, each a linear map of its trailing dims. */
    private static SameDiff threeModalityGraph() {
        Nd4j.getRandom().setSeed(7);
        SameDiff sd = SameDiff.create();
        SDVariable wt = sd.var("Wt", Nd4j.rand(DataType.FLOAT, 8, 512).subi(0.5));
        SDVariable wi = sd.var("Wi", Nd4j.rand(DataType.FLOAT, 12, 512).subi(0.5));
        SDVariable e = sd.var("E", Nd4j.rand(DataType.FLOAT, 10, 512).subi(0.5));
        linear(sd, "yTensor", sd.placeHolder("x", DataType.FLOAT, -1, -1, 8), wt, 8);
        linear(sd, "yImage", sd.placeHolder("img", DataType.FLOAT, -1, -1, 3, 2, 2), wi, 12);
        linear(sd, "yText", sd.oneHot(sd.placeHolder("tok", DataType.INT64, -1, -1), 10), e, 10);
        return sd;
    }

    @Test
    void forwardAndBackwardRoundTripEveryModality() {
        SameDiff sd = threeModalityGraph();
        SameDiffNeuron neuron = SameDiffNeuron.builder(sd)
                .modality(Modality.TENSOR, "x", "yTensor")
                .modality(Modality.IMAGE, "img", "yImage")
                .modality(Modality.TEXT, "tok", "yText").build();
        Axon axon = start(Axon.builder().serve("k", neuron).maxGradientNorm(Double.POSITIVE_INFINITY));
        Dendrite dendrite = dendrite();
        List<Synapse> peer = List.of(synapse("k", "127.0.0.1", axon.port()));

        INDArray x = Nd4j.rand(DataType.FLOAT, 3, 2, 8);
        INDArray img = Nd4j.rand(DataType.FLOAT, 2, 1, 3, 2, 2);
        INDArray tok = Nd4j.createFromArray(new long[][] {{1, 2, 3, 3}});
        INDArray tokOneHot = Nd4j.zeros(DataType.FLOAT, 1, 4, 10);
        for (int i = 0; i < 4; i++) {
            tokOneHot.putScalar(new long[] {0, i, tok.getLong(0, i)}, 1.0);
        }
        record Case(Modality m, INDArray in, INDArray asFloat, String w) {}
        for (Case c : List.of(new Case(Modality.TENSOR, x, x, "Wt"), new Case(Modality.IMAGE, img, img, "Wi"),
                new Case(Modality.TEXT, tok, tokOneHot, "E"))) {
            INDArray w = sd.getArrForVarName(c.w());
            DendriteCall call = dendrite.forward(peer, List.of(c.in()), c.m());
            assertEquals(ReturnCode.OK, call.results().get(0).code(), c.m() + ": " + call.results());
            INDArray expected = linear(c.asFloat(), w);
            assertTrue(expected.equalsWithEps(call.outputs().get(0), 1e-4), c.m() + " forward");

            long[] s = c.in().shape();
            INDArray g = Nd4j.rand(DataType.FLOAT, s[0], s[1], 512).subi(0.5);
            INDArray dx = call.backward(List.of(g)).get(0);
            assertEquals(ReturnCode.OK, call.backwardResults().get(0).code(), c.m() + " backward");
            assertArrayEquals(s, dx.shape());
            INDArray expectDx = c.m() == Modality.TEXT ? Nd4j.zeros(DataType.FLOAT, s)
                    : linearInputGrad(c.in(), w, g);
            assertTrue(expectDx.equalsWithEps(dx, 1e-4), c.m() + " backward");
        }
        assertEquals(3, neuron.gradientQueue().size());
    }

    @Test
    void linearNeuronGradientIsAnalyticAndDrainingTakesOneOptimizerStep() {
        Nd4j.getRandom().setSeed(11);
        SameDiff sd = SameDiff.create();
        SDVariable w = sd.var("W", Nd4j.rand(DataType.FLOAT, 5, 512).subi(0.5));
        SDVariable b = sd.var("b", Nd4j.rand(DataType.FLOAT, 512).subi(0.5));
        linear(sd, "xw", sd.placeHolder("x", DataType.FLOAT, -1, -1, 5), w, 5).add("y", b);
        double lr = 0.05;
        SameDiffNeuron neuron = SameDiffNeuron.builder(sd).modality(Modality.TENSOR, "x", "y")
                .updater(new Sgd(lr)).build();
        Axon axon = start(Axon.builder().serve("lin", neuron).maxGradientNorm(Double.POSITIVE_INFINITY));
        INDArray w0 = sd.getArrForVarName("W").dup();
        INDArray b0 = sd.getArrForVarName("b").dup();

        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 3, 5);
        INDArray g = Nd4j.rand(DataType.FLOAT, 4, 3, 512).subi(0.5);
        DendriteCall call = dendrite().forward(List.of(synapse("lin", "127.0.0.1", axon.port())),
                List.of(x), Modality.TENSOR);
        assertTrue(linear(x, w0).reshape(12, 512).addRowVector(b0)
                .equalsWithEps(call.outputs().get(0).reshape(12, 512), 1e-4));
        INDArray dx = call.backward(List.of(g)).get(0);
        assertTrue(linearInputGrad(x, w0, g).equalsWithEps(dx, 1e-4));

        assertEquals(w0, sd.getArrForVarName("W"), "parameters move only when the neuron drains");
        assertEquals(1, neuron.drainAndApply());
        INDArray x2 = x.reshape(12, 5);
        INDArray g2 = g.reshape(12, 512);
        assertTrue(w0.sub(x2.transpose().mmul(g2).mul(lr)).equalsWithEps(sd.getArrForVarName("W"), 1e-4));
        assertTrue(b0.sub(g2.sum(0).mul(lr)).equalsWithEps(sd.getArrForVarName("b"), 1e-4));
    }

    @Test
    void oneAxonServesSeveralNeurons() {
        Axon axon = start(Axon.builder().serve("two", new TestNeurons.Scale(2)).serve("three", new TestNeurons.Scale(3)));
        Dendrite dendrite = dendrite();
        int port = axon.port();
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 512);
        DendriteCall call = dendrite.forward(
                List.of(synapse("two", "127.0.0.1", port), synapse("three", "127.0.0.1", port),
                        synapse("nobody", "127.0.0.1", port)),
                List.of(x, x, x), Modality.TENSOR);
        assertTrue(x.mul(2).equalsWithEps(call.outputs().get(0), 1e-6));
        assertTrue(x.mul(3).equalsWithEps(call.outputs().get(1), 1e-6));
        assertEquals(ReturnCode.UNKNOWN_SYNAPSE, call.results().get(2).code());
        assertEquals(0.0, call.outputs().get(2).amaxNumber().doubleValue());
        assertEquals(1, dendrite.openChannels(), "one channel per endpoint");
    }

    /**
     * How a SameDiff model uses a Dendrite: peers' outputs go in as placeholders, the gradient of
     * the loss w.r.t. those placeholders goes back through Backward (docs/dendrite.md).
     */
    @Test
    void sameDiffCallerFeedsOutputsInAndSendsGradientsBack() {
        Axon axon = start(Axon.builder().serve("two", new TestNeurons.Scale(2)).serve("three", new TestNeurons.Scale(3))
                .maxGradientNorm(Double.POSITIVE_INFINITY));
        Dendrite dendrite = dendrite();
        List<Synapse> peers = List.of(synapse("two", "127.0.0.1", axon.port()),
                synapse("three", "127.0.0.1", axon.port()));

        // The caller's model: loss = sum((0.5·(peer0 + peer1) − target)²)
        SameDiff caller = SameDiff.create();
        SDVariable p0 = caller.placeHolder("peer0", DataType.FLOAT, -1, -1, 512);
        SDVariable p1 = caller.placeHolder("peer1", DataType.FLOAT, -1, -1, 512);
        SDVariable target = caller.placeHolder("target", DataType.FLOAT, -1, -1, 512);
        SDVariable diff = p0.add(p1).mul(0.5).sub(target);
        caller.setLossVariables(diff.mul(diff).sum("loss"));
        caller.createGradFunction("peer0", "peer1"); // else the placeholders' gradients are left out

        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 1, 512);
        INDArray t = Nd4j.rand(DataType.FLOAT, 2, 1, 512);
        DendriteCall call = dendrite.forward(peers, List.of(x, x), Modality.TENSOR);
        Map<String, INDArray> grads = caller.calculateGradients(
                Map.of("peer0", call.outputs().get(0), "peer1", call.outputs().get(1), "target", t),
                "peer0", "peer1");
        List<INDArray> inputGrads = call.backward(List.of(grads.get("peer0"), grads.get("peer1")));

        // d loss / d peer_i = 2·0.5·(0.5·(2x + 3x) − t) = 2.5x − t; the peers scale it by 2 and 3.
        INDArray dLdy = x.mul(2.5).sub(t);
        assertTrue(dLdy.equalsWithEps(grads.get("peer0"), 1e-4));
        assertTrue(dLdy.mul(2).equalsWithEps(inputGrads.get(0), 1e-4));
        assertTrue(dLdy.mul(3).equalsWithEps(inputGrads.get(1), 1e-4));
    }

    // ------------------------------------------------------------------------- bad requests

    private static TensorMessage request(String synapseKey, Tensor... tensors) {
        return TensorMessage.newBuilder().setVersion("0.0.0").setSynapseKey(synapseKey)
                .addAllTensors(List.of(tensors)).build();
    }

    private static Tensor tensor(long... shape) {
        return CODEC.encode(Nd4j.rand(DataType.FLOAT, shape), Modality.TENSOR);
    }

    private static void assertRefused(ReturnCode code, TensorMessage reply) {
        assertEquals(code, reply.getReturnCode(), reply.getReturnMessage());
        assertEquals(0, reply.getTensorsCount(), "a refusal is a null response");
        assertTrue(!reply.getReturnMessage().isEmpty());
    }

    @Test
    void anIdleConnectionIsClosedByTheAxonAndTheClientReconnects() throws Exception {
        Axon axon = start(Axon.builder().maxConnectionIdle(Duration.ofMillis(300)).serve("k", new TestNeurons.Scale(1)));
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", axon.port()).usePlaintext().build();
        closeMe.add(() -> {
            ch.shutdownNow();
            ch.awaitTermination(5, TimeUnit.SECONDS);
        });
        BittensorGrpc.BittensorBlockingStub stub = BittensorGrpc.newBlockingStub(ch);
        assertEquals(ReturnCode.OK, stub.withDeadlineAfter(30, TimeUnit.SECONDS)
                .forward(request("k", tensor(2, 1, 512))).getReturnCode());
        assertEquals(io.grpc.ConnectivityState.READY, ch.getState(false));

        // The server's GOAWAY after 300 ms without calls takes the client's transport down.
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (ch.getState(false) == io.grpc.ConnectivityState.READY && System.nanoTime() < until) {
            Thread.sleep(50);
        }
        assertEquals(io.grpc.ConnectivityState.IDLE, ch.getState(false), "the idle connection was not closed");
        assertEquals(ReturnCode.OK, stub.withDeadlineAfter(30, TimeUnit.SECONDS)
                .forward(request("k", tensor(2, 1, 512))).getReturnCode(), "a new call reconnects");
    }

    @Test
    void badRequestsGetTheirCodeAndTheServerKeepsServing() {
        Keypair caller = Keypair.generate();
        long[] nounce = {System.currentTimeMillis() * 1000};
        java.util.function.Function<TensorMessage, TensorMessage> sign =
                m -> RequestSigner.sign(m, caller, nounce[0]++);
        Axon axon = start(Axon.builder().requireSignatures(true).maxInboundMessageBytes(1 << 20)
                .serve("k", new TestNeurons.Scale(1)).serve("broken", new TestNeurons.Broken()));
        BittensorGrpc.BittensorBlockingStub stub = raw(axon);
        Runnable stillServing = () -> {
            TensorMessage ok = stub.forward(sign.apply(request("k", tensor(2, 1, 512))));
            assertEquals(ReturnCode.OK, ok.getReturnCode(), ok.getReturnMessage());
            assertArrayEquals(new long[] {2, 1, 512}, CODEC.decode(ok.getTensors(0)).shape());
            assertEquals(axon.neuronKey(), ok.getNeuronKey());
            assertEquals("k", ok.getSynapseKey());
        };
        stillServing.run();

        Tensor good = tensor(2, 1, 512);
        Tensor lying = good.toBuilder().setBuffer(ByteString.copyFrom(new byte[16])).build();
        Tensor huge = good.toBuilder().clearShape().addShape(1 << 20).addShape(1 << 20).addShape(512).build();
        Tensor floatText = CODEC.encode(Nd4j.rand(DataType.FLOAT, 2, 3), Modality.TENSOR).toBuilder()
                .setModality(Modality.TEXT).build();
        Tensor image = CODEC.encode(Nd4j.rand(DataType.FLOAT, 1, 1, 1, 2, 2), Modality.IMAGE);
        Map<TensorMessage, ReturnCode> forwardCases = Map.ofEntries(
                Map.entry(request("nobody", good), ReturnCode.UNKNOWN_SYNAPSE),
                Map.entry(request("k"), ReturnCode.BAD_SHAPE),
                Map.entry(request("k", tensor(2, 512)), ReturnCode.BAD_SHAPE), // wrong rank
                Map.entry(request("k", tensor(0, 1, 512)), ReturnCode.BAD_SHAPE), // zero batch
                Map.entry(request("k", tensor(1, 0, 512)), ReturnCode.BAD_SHAPE), // zero sequence
                Map.entry(request("k", lying), ReturnCode.MALFORMED_TENSOR),
                Map.entry(request("k", huge), ReturnCode.TOO_LARGE),
                Map.entry(request("k", floatText), ReturnCode.BAD_DTYPE),
                Map.entry(request("k", image), ReturnCode.UNSUPPORTED_MODALITY),
                Map.entry(request("broken", good), ReturnCode.MODEL_ERROR));
        forwardCases.forEach((req, code) -> {
            assertRefused(code, stub.forward(sign.apply(req)));
            stillServing.run();
        });

        INDArray nanGrads = Nd4j.valueArrayOf(new long[] {2, 1, 512}, Float.NaN, DataType.FLOAT);
        Map<TensorMessage, ReturnCode> backwardCases = Map.of(
                request("k", good), ReturnCode.BAD_SHAPE, // no grads
                request("k", good, tensor(2, 1, 7)), ReturnCode.BAD_SHAPE,
                request("k", good, CODEC.encode(nanGrads, Modality.TENSOR)), ReturnCode.NON_FINITE);
        backwardCases.forEach((req, code) -> {
            assertRefused(code, stub.backward(sign.apply(req)));
            stillServing.run();
        });

        // Signatures: required here, so unsigned is refused; bad, stale and replayed always are.
        assertRefused(ReturnCode.UNAUTHENTICATED, stub.forward(request("k", good)));
        TensorMessage signed = sign.apply(request("k", good));
        byte[] sig = signed.getSignature().toByteArray();
        sig[5] ^= 1;
        assertRefused(ReturnCode.UNAUTHENTICATED,
                stub.forward(signed.toBuilder().setSignature(ByteString.copyFrom(sig)).build()));
        assertRefused(ReturnCode.UNAUTHENTICATED,
                stub.forward(RequestSigner.sign(request("k", good), caller, 1_000_000L))); // 1970
        assertEquals(ReturnCode.OK, stub.forward(signed).getReturnCode());
        TensorMessage replay = stub.forward(signed);
        assertRefused(ReturnCode.UNAUTHENTICATED, replay);
        assertTrue(replay.getReturnMessage().contains("replay"), replay.getReturnMessage());

        // Bigger than maxInboundMessageBytes: gRPC itself refuses it, before the Axon sees it.
        StatusRuntimeException tooBig = assertThrows(StatusRuntimeException.class,
                () -> stub.forward(sign.apply(request("k", tensor(1, 1, 512 * 1024)))));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, tooBig.getStatus().getCode());
        stillServing.run();

        assertEquals(1, axon.stats().count(ReturnCode.UNKNOWN_SYNAPSE));
        // The worker releases its admission slot just after replying: allow it a moment.
        await(() -> axon.stats().inFlight() == 0);
    }

    @Test
    void unsignedRequestsPassByDefaultButInvalidSignaturesNever() {
        Axon axon = start(Axon.builder().serve("k", new TestNeurons.Scale(1)));
        BittensorGrpc.BittensorBlockingStub stub = raw(axon);
        TensorMessage unsigned = request("k", tensor(1, 1, 512));
        assertEquals(ReturnCode.OK, stub.forward(unsigned).getReturnCode());
        TensorMessage forged = unsigned.toBuilder().setNeuronKey(Keypair.generate().publicKeyHex())
                .setNounce(System.currentTimeMillis() * 1000).setSignature(ByteString.copyFrom(new byte[64]))
                .build();
        assertRefused(ReturnCode.UNAUTHENTICATED, stub.forward(forged));
    }

    @Test
    void pastTheAdmissionBoundCallsAreAnsweredOverloadedAtOnce() throws Exception {
        TestNeurons.Blocking blocking = new TestNeurons.Blocking();
        Axon axon = start(Axon.builder().workerThreads(1).maxQueuedCalls(1).serve("slow", blocking));
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", axon.port()).usePlaintext().build();
        closeMe.add(ch::shutdownNow);
        var async = BittensorGrpc.newFutureStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
        TensorMessage req = request("slow", tensor(1, 1, 512));
        var first = async.forward(req);
        var second = async.forward(req);
        await(() -> axon.stats().inFlight() == 2); // one running, one queued

        TensorMessage third = BittensorGrpc.newBlockingStub(ch).withDeadlineAfter(5, TimeUnit.SECONDS).forward(req);
        assertRefused(ReturnCode.OVERLOADED, third);

        blocking.release.countDown();
        assertEquals(ReturnCode.OK, first.get(30, TimeUnit.SECONDS).getReturnCode());
        assertEquals(ReturnCode.OK, second.get(30, TimeUnit.SECONDS).getReturnCode());
        await(() -> axon.stats().inFlight() == 0);
    }

    /**
     * Replies are streamed from the neuron's output after it returns, and request buffers and
     * decoded inputs are pooled: a neuron answering with its very input (or a private F-order
     * copy of it) under concurrent callers must still give every caller exactly its own values,
     * so no pooled buffer or array is reused before its reply is written.
     */
    @Test
    void concurrentCallersOfANeuronThatAnswersWithItsInputEachGetTheirOwnValues() throws Exception {
        Neuron identity = new Neuron() {
            @Override
            public INDArray forwardTensor(INDArray x) {
                return x;
            }
        };
        Neuron fOrder = new Neuron() {
            @Override
            public INDArray forwardTensor(INDArray x) {
                return x.dup('f');
            }
        };
        Axon axon = start(Axon.builder().workerThreads(4).serve("id", identity).serve("f", fOrder));
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", axon.port()).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
        closeMe.add(() -> {
            ch.shutdownNow();
            ch.awaitTermination(5, TimeUnit.SECONDS);
        });
        var stub = BittensorGrpc.newFutureStub(ch);
        int callers = 8;
        int rounds = 25;
        java.util.concurrent.ExecutorService ex = java.util.concurrent.Executors.newFixedThreadPool(callers);
        try {
            List<java.util.concurrent.Future<Integer>> done = new ArrayList<>();
            for (int c = 0; c < callers; c++) {
                int caller = c;
                done.add(ex.submit(() -> {
                    int ok = 0;
                    for (int r = 0; r < rounds; r++) {
                        INDArray x = Nd4j.rand(DataType.FLOAT, 16, 1 + (r % 2), 512).addi(caller * 10 + r);
                        String key = r % 3 == 0 ? "f" : "id";
                        TensorMessage reply = stub.withDeadlineAfter(30, TimeUnit.SECONDS)
                                .forward(request(key, CODEC.encode(x, Modality.TENSOR))).get(30, TimeUnit.SECONDS);
                        assertEquals(ReturnCode.OK, reply.getReturnCode(), reply.getReturnMessage());
                        assertEquals(x, CODEC.decode(reply.getTensors(0)), "caller " + caller + " round " + r);
                        ok++;
                    }
                    return ok;
                }));
            }
            for (var f : done) {
                assertEquals(rounds, f.get(120, TimeUnit.SECONDS));
            }
        } finally {
            ex.shutdownNow();
            assertTrue(ex.awaitTermination(10, TimeUnit.SECONDS));
        }
        // The Dendrite's replies are parsed into pooled buffers too: a fan-out of distinct inputs
        // to the same synapse gets each its own values back, decoded before a buffer is reused.
        Dendrite dendrite = dendrite();
        Synapse id = synapse("id", "127.0.0.1", axon.port());
        for (int r = 0; r < 5; r++) {
            List<INDArray> xs = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                xs.add(Nd4j.rand(DataType.FLOAT, 8, 1, 512).addi(100 * r + i));
            }
            DendriteCall call = dendrite.forward(java.util.Collections.nCopies(xs.size(), id), xs, Modality.TENSOR);
            for (int i = 0; i < xs.size(); i++) {
                assertEquals(ReturnCode.OK, call.results().get(i).code());
                assertEquals(xs.get(i), call.outputs().get(i), "fan-out " + r + " peer " + i);
            }
        }
        await(() -> axon.stats().inFlight() == 0);
    }

    @Test
    void closeEndsEveryThreadItStarted() {
        java.util.Set<Thread> before = Thread.getAllStackTraces().keySet();
        Axon axon = Axon.builder().bindAddress("127.0.0.1").port(0).serve("k", new TestNeurons.Scale(1)).build().start();
        Dendrite dendrite = Dendrite.builder().build();
        DendriteCall call = dendrite.forward(List.of(synapse("k", "127.0.0.1", axon.port())),
                List.of(Nd4j.rand(DataType.FLOAT, 1, 1, 512)), Modality.TENSOR);
        assertEquals(ReturnCode.OK, call.results().get(0).code());
        dendrite.close();
        axon.close();
        axon.close(); // idempotent
        // Threads end just after their executor reports termination: poll briefly.
        await(() -> Thread.getAllStackTraces().keySet().stream()
                .filter(t -> !before.contains(t) && t.isAlive())
                .map(Thread::getName)
                .noneMatch(n -> n.startsWith("axon-") || n.startsWith("dendrite-")));
        assertThrows(IllegalStateException.class, axon::start);
        assertThrows(IllegalStateException.class, () -> dendrite.forward(List.of(), List.of(), Modality.TENSOR));
    }

    @Test
    void aTakenPortIsAClearErrorAndLeavesNoThreads() {
        Axon first = start(Axon.builder());
        Axon second = Axon.builder().bindAddress("127.0.0.1").port(first.port()).build();
        var e = assertThrows(java.io.UncheckedIOException.class, second::start);
        assertTrue(e.getMessage().contains(Integer.toString(first.port())), e.getMessage());
        second.close(); // already closed by the failed start: a no-op
    }
}
