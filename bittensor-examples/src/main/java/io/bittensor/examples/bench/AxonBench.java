package io.bittensor.examples.bench;

import io.bittensor.axon.Axon;
import io.bittensor.dendrite.Dendrite;
import io.bittensor.dendrite.DendriteCall;
import io.bittensor.neuron.Neuron;
import io.bittensor.proto.BittensorGrpc;
import io.bittensor.proto.Modality;
import io.bittensor.proto.Synapse;
import io.bittensor.proto.TensorMessage;
import io.bittensor.tensor.TensorCodec;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Axon/Dendrite over loopback:
 * <ol>
 *   <li>Forward requests/s and p50/p99 latency of {@code [64, 1, 512]} float32 against an identity
 *       neuron, through a Dendrite, with 1 and 4 concurrent callers (sharing one Dendrite),
 *       unsigned (what a Python peer sends) and signed;</li>
 *   <li>the wall time of one fan-out to 16 peers that each take 50 ms, divided by that of one
 *       single call.</li>
 * </ol>
 * The original Python peer, measured on this machine: 1 345 req/s with one caller (p50 0.70 ms,
 * p99 0.95 ms), 1 766 with four, and a fan-out ratio of 16.0 (it calls peers one by one).
 *
 * <p>Build with {@code ./mvnw -B -q -o -pl bittensor-examples -am package -DskipTests}, then
 * {@code OMP_NUM_THREADS=1 java -Dorg.bytedeco.javacpp.platform.extension=-onednn-avx2
 * -cp bittensor-examples/target/bittensor-examples.jar io.bittensor.examples.bench.AxonBench [seconds]}
 * (seconds per case, default 5, split into 3 rounds that alternate unsigned, signed, unsigned to
 * a second Axon serving inline ({@code inlineBelow}), and a bare grpc-java echo of the same
 * message; each first warms up as long).
 */
public final class AxonBench {
    private static final int[] SHAPE = {64, 1, 512};
    /** Interleaved unsigned/signed rounds per caller count; the seconds per case are split among them. */
    private static final int ROUNDS = 3;
    /** The inline threshold of the second Axon (the identity neuron takes a few microseconds). */
    private static final java.time.Duration INLINE_BELOW = java.time.Duration.ofMillis(1);

    private AxonBench() {
    }

    /** Replies with its input: measures the transport, not a model. */
    private static final class Identity implements Neuron {
        @Override
        public INDArray forwardTensor(INDArray x) {
            return x;
        }
    }

    /** Takes 50 ms per call, like a small model on a busy peer. */
    private static final class Slow implements Neuron {
        @Override
        public INDArray forwardTensor(INDArray x) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return x;
        }
    }

    public static void main(String[] args) throws Exception {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 5;
        System.out.printf(Locale.ROOT, "AxonBench: %d cores, load average at start %s%n",
                Runtime.getRuntime().availableProcessors(), ClosedLoop.loadAverage());
        System.out.println("(shared machine: other builds may run at the same time; see load averages)");
        INDArray x = Nd4j.rand(DataType.FLOAT, SHAPE);

        System.out.printf(Locale.ROOT, "%nForward [64, 1, 512] float32, identity neuron, loopback, %.0f s each%n",
                seconds);
        System.out.printf(Locale.ROOT, "%-8s %-9s %12s %10s %10s %8s%n", "callers", "signed", "requests/s",
                "p50 ms", "p99 ms", "errors");
        try (Axon axon = Axon.builder().bindAddress("127.0.0.1").port(0).serve("id", new Identity())
                .build().start();
             Dendrite unsigned = Dendrite.builder().signRequests(false).build();
             Dendrite signed = Dendrite.builder().signRequests(true).build();
             Axon inlineAxon = Axon.builder().bindAddress("127.0.0.1").port(0).serve("id", new Identity())
                     .inlineBelow(INLINE_BELOW).build().start();
             Echo echo = new Echo(x, unsigned.neuronKey())) {
            Synapse peer = ClosedLoop.synapse("id", axon.port());
            Synapse inlinePeer = ClosedLoop.synapse("id", inlineAxon.port());
            Dendrite[] dendrites = {unsigned, signed};
            for (int callers : new int[] {1, 4}) {
                for (Dendrite d : dendrites) { // warm-up: the JIT needs ~10 s here
                    ClosedLoop.run(d, peer, x, Modality.TENSOR, callers, seconds);
                }
                ClosedLoop.run(unsigned, inlinePeer, x, Modality.TENSOR, callers, seconds);
                echo.run(callers, seconds);
                // Rounds alternate unsigned, signed and the bare echo, so all see the same machine
                // load; each row is the round with the median requests/s.
                ClosedLoop.Result[][] rounds = new ClosedLoop.Result[2][ROUNDS];
                double[] echoes = new double[ROUNDS];
                ClosedLoop.Result[] inlined = new ClosedLoop.Result[ROUNDS];
                for (int round = 0; round < ROUNDS; round++) {
                    for (int i = 0; i < 2; i++) {
                        rounds[i][round] = ClosedLoop.run(dendrites[i], peer, x, Modality.TENSOR, callers,
                                seconds / ROUNDS);
                    }
                    inlined[round] = ClosedLoop.run(unsigned, inlinePeer, x, Modality.TENSOR, callers,
                            seconds / ROUNDS);
                    echoes[round] = echo.run(callers, seconds / ROUNDS);
                }
                Arrays.sort(echoes);
                Arrays.sort(inlined, java.util.Comparator.comparingDouble(ClosedLoop.Result::perSecond));
                ClosedLoop.Result inl = inlined[ROUNDS / 2];
                ClosedLoop.Result[] median = new ClosedLoop.Result[2];
                for (int i = 0; i < 2; i++) {
                    ClosedLoop.Result[] rs = rounds[i].clone();
                    Arrays.sort(rs, java.util.Comparator.comparingDouble(ClosedLoop.Result::perSecond));
                    median[i] = rs[ROUNDS / 2];
                    System.out.printf(Locale.ROOT, "%-8d %-9s %12.0f %10.3f %10.3f %8d%n", callers,
                            i == 1 ? "yes" : "no", median[i].perSecond(), median[i].p50Ms(),
                            median[i].p99Ms(), median[i].errors());
                }
                System.out.printf(Locale.ROOT, "%-8d %-9s %12.0f %10.3f %10.3f %8d   (Axon with inlineBelow %d µs)%n",
                        callers, "no, inl.", inl.perSecond(), inl.p50Ms(), inl.p99Ms(), inl.errors(),
                        INLINE_BELOW.toNanos() / 1000);
                System.out.printf(Locale.ROOT, "%-8d %-9s %12.0f   (bare grpc-java echo of the same message,"
                        + " rounds interleaved; median)%n", callers, "echo", echoes[ROUNDS / 2]);
                System.out.printf(Locale.ROOT, "%-8d signed / unsigned requests/s: %.2f (goal >= 0.8)%n",
                        callers, median[1].perSecond() / median[0].perSecond());
                System.out.printf(Locale.ROOT, "%-8d unsigned / echo requests/s:   %.2f (goal >= 0.85 with 1 caller);"
                        + " inline Axon: %.2f%n", callers, median[0].perSecond() / echoes[ROUNDS / 2],
                        inl.perSecond() / echoes[ROUNDS / 2]);
            }
        }

        System.out.printf(Locale.ROOT, "%nFan-out: 16 peers (16 Axons), each 50 ms per call%n");
        List<Axon> axons = new ArrayList<>();
        try (Dendrite dendrite = Dendrite.builder().signRequests(false).build()) {
            List<Synapse> peers = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                Axon a = Axon.builder().bindAddress("127.0.0.1").port(0).ioThreads(1).workerThreads(2)
                        .serve("slow" + i, new Slow()).build().start();
                axons.add(a);
                peers.add(ClosedLoop.synapse("slow" + i, a.port()));
            }
            List<INDArray> inputs = Collections.nCopies(16, x);
            int reps = 15;
            double[] single = new double[reps];
            double[] fan = new double[reps];
            dendrite.forward(peers, inputs, Modality.TENSOR); // opens the channels
            for (int r = 0; r < reps; r++) { // interleaved so both see the same machine load
                single[r] = timeMs(dendrite, peers.subList(0, 1), inputs.subList(0, 1));
                fan[r] = timeMs(dendrite, peers, inputs);
            }
            Arrays.sort(single);
            Arrays.sort(fan);
            double s = single[reps / 2];
            double f = fan[reps / 2];
            System.out.printf(Locale.ROOT, "%-28s %10.1f ms%n", "one call (median of " + reps + ")", s);
            System.out.printf(Locale.ROOT, "%-28s %10.1f ms%n", "fan-out to 16 (median)", f);
            System.out.printf(Locale.ROOT, "%-28s %10.2f   (original: 16.0; goal <= 1.3)%n", "ratio", f / s);
        } finally {
            for (Axon a : axons) {
                a.close();
            }
        }
        System.out.printf(Locale.ROOT, "%nload average at end %s%n", ClosedLoop.loadAverage());
    }

    /**
     * The transport's own ceiling: a bare gRPC server that echoes the request on its I/O thread
     * (no decode, no encode, no worker hop), called by blocking stubs on one channel with the
     * same message (the request an unsigned Dendrite sends, already encoded).
     */
    private static final class Echo implements AutoCloseable {
        private final Server server;
        private final ManagedChannel channel;
        private final BittensorGrpc.BittensorBlockingStub stub;
        private final TensorMessage message;

        Echo(INDArray x, String neuronKey) throws IOException {
            server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).directExecutor()
                    .addService(new BittensorGrpc.BittensorImplBase() {
                        @Override
                        public void forward(TensorMessage request, StreamObserver<TensorMessage> out) {
                            out.onNext(request);
                            out.onCompleted();
                        }
                    }).build().start();
            channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext()
                    .directExecutor().build();
            stub = BittensorGrpc.newBlockingStub(channel);
            message = TensorMessage.newBuilder().setVersion(TensorCodec.WIRE_VERSION).setNeuronKey(neuronKey)
                    .setSynapseKey("id").addTensors(TensorCodec.defaults().encode(x, Modality.TENSOR)).build();
        }

        /** Requests/s of {@code callers} threads echoing for {@code seconds}. */
        double run(int callers, double seconds) throws InterruptedException {
            long durationNanos = (long) (seconds * 1e9);
            java.util.concurrent.atomic.AtomicLong calls = new java.util.concurrent.atomic.AtomicLong();
            List<Thread> threads = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int c = 0; c < callers; c++) {
                Thread t = new Thread(() -> {
                    long end = System.nanoTime() + durationNanos;
                    long n = 0;
                    while (System.nanoTime() < end) {
                        stub.forward(message);
                        n++;
                    }
                    calls.addAndGet(n);
                }, "bench-echo-" + c);
                t.start();
                threads.add(t);
            }
            for (Thread t : threads) {
                t.join();
            }
            return calls.get() / ((System.nanoTime() - t0) / 1e9);
        }

        @Override
        public void close() {
            channel.shutdownNow();
            server.shutdownNow();
        }
    }

    private static double timeMs(Dendrite dendrite, List<Synapse> peers, List<INDArray> inputs) {
        long t0 = System.nanoTime();
        DendriteCall call = dendrite.forward(peers, inputs, Modality.TENSOR);
        double ms = (System.nanoTime() - t0) / 1e6;
        if (call.results().stream().anyMatch(r -> !r.ok())) {
            throw new IllegalStateException("a peer failed: " + call.results());
        }
        return ms;
    }
}
