package io.bittensor.examples.bench;

import io.bittensor.axon.Axon;
import io.bittensor.dendrite.Dendrite;
import io.bittensor.dendrite.DendriteCall;
import io.bittensor.examples.mnist.MnistModel;
import io.bittensor.examples.mnist.MnistNeuron;
import io.bittensor.neuron.BatchingNeuron;
import io.bittensor.neuron.Neuron;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import io.bittensor.proto.Synapse;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Server-side batching ({@link BatchingNeuron}) against the MNIST neuron's Forward: 16 concurrent
 * callers, each sending IMAGE {@code [8, 1, 1, 28, 28]} through a Dendrite over loopback, to one
 * Axon serving the MNIST neuron as it is and to one serving it behind a {@link BatchingNeuron}.
 * Rounds alternate between the two so background load hits both alike; prints requests/s, images/s,
 * p50 and p99 latency per round and the median ratio.
 *
 * <p>{@code OMP_NUM_THREADS=1 java -cp bittensor-examples/target/bittensor-examples.jar
 * io.bittensor.examples.bench.BatchingBench [seconds per round, default 5] [rounds, default 3]
 * [callers, default 16] [rows per request, default 8]}. Figures: docs/benchmarks.md.
 */
public final class BatchingBench {

    private BatchingBench() {
    }

    private record Result(double perSecond, double p50Ms, double p99Ms, long errors) {}

    public static void main(String[] args) throws Exception {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 5;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        int callers = args.length > 2 ? Integer.parseInt(args[2]) : 16;
        int rows = args.length > 3 ? Integer.parseInt(args[3]) : 8;
        System.out.printf(Locale.ROOT, "BatchingBench: %d cores, %d callers x IMAGE [%d, 1, 1, 28, 28], "
                + "%.0f s per round, load average at start %s%n",
                Runtime.getRuntime().availableProcessors(), callers, rows, seconds, loadAverage());
        MnistModel model = new MnistModel(MnistModel.Options.defaults(1, MnistModel.DEFAULT_LEARNING_RATE, 1000));
        Neuron plain = new MnistNeuron(model.copy(), 16);
        try (BatchingNeuron batched = BatchingNeuron.builder(new MnistNeuron(model.copy(), 16))
                     .maxBatchRows(256).maxWait(Duration.ofMillis(1)).build();
             // Workers mostly wait for their batch: enough of them for every caller to be queued.
             Axon a = Axon.builder().bindAddress("127.0.0.1").port(0).workerThreads(callers + 2)
                     .serve("mnist", plain).build().start();
             Axon b = Axon.builder().bindAddress("127.0.0.1").port(0).workerThreads(callers + 2)
                     .serve("mnist", batched).build().start();
             Dendrite dendrite = Dendrite.builder().signRequests(false).timeout(Duration.ofSeconds(10)).build()) {
            Synapse pa = synapse(a.port());
            Synapse pb = synapse(b.port());
            INDArray x = Nd4j.rand(DataType.FLOAT, rows, 1, 1, 28, 28);
            run(dendrite, pa, x, callers, seconds); // warm-up, both
            run(dendrite, pb, x, callers, seconds);
            System.out.printf(Locale.ROOT, "%-6s %-10s %12s %10s %10s %10s %7s%n", "round", "server",
                    "requests/s", "images/s", "p50 ms", "p99 ms", "errors");
            double[] ratio = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                Result u = run(dendrite, pa, x, callers, seconds);
                Result v = run(dendrite, pb, x, callers, seconds);
                print(r + 1, "unbatched", u, rows);
                print(r + 1, "batched", v, rows);
                ratio[r] = v.perSecond / u.perSecond;
            }
            Arrays.sort(ratio);
            System.out.printf(Locale.ROOT, "batched / unbatched throughput: median %.2f (min %.2f, max %.2f)"
                    + "   goal >= 3%n", ratio[rounds / 2], ratio[0], ratio[rounds - 1]);
        } finally {
            model.close();
        }
        System.out.printf(Locale.ROOT, "load average at end %s%n", loadAverage());
    }

    private static void print(int round, String name, Result r, int rows) {
        System.out.printf(Locale.ROOT, "%-6d %-10s %12.0f %10.0f %10.2f %10.2f %7d%n", round, name,
                r.perSecond, r.perSecond * rows, r.p50Ms, r.p99Ms, r.errors);
    }

    private static Result run(Dendrite dendrite, Synapse peer, INDArray x, int callers, double seconds)
            throws InterruptedException {
        long durationNanos = (long) (seconds * 1e9);
        List<long[]> latencies = Collections.synchronizedList(new ArrayList<>());
        AtomicLong errors = new AtomicLong();
        AtomicLong calls = new AtomicLong();
        CountDownLatch start = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(callers);
        List<Synapse> peers = List.of(peer);
        List<INDArray> inputs = List.of(x);
        for (int c = 0; c < callers; c++) {
            Thread t = new Thread(() -> {
                long[] lat = new long[1 << 18];
                int n = 0;
                try {
                    start.await();
                    long end = System.nanoTime() + durationNanos;
                    long now;
                    while ((now = System.nanoTime()) < end && n < lat.length) {
                        DendriteCall call = dendrite.forward(peers, inputs, Modality.IMAGE);
                        lat[n++] = System.nanoTime() - now;
                        if (call.results().get(0).code() != ReturnCode.OK) {
                            errors.incrementAndGet();
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    latencies.add(Arrays.copyOf(lat, n));
                    calls.addAndGet(n);
                    done.countDown();
                }
            }, "bench-caller-" + c);
            t.start();
        }
        long t0 = System.nanoTime();
        start.countDown();
        done.await();
        double elapsed = (System.nanoTime() - t0) / 1e9;
        long[] all = latencies.stream().flatMapToLong(Arrays::stream).sorted().toArray();
        return new Result((calls.get() - errors.get()) / elapsed, pct(all, 0.50), pct(all, 0.99), errors.get());
    }

    private static double pct(long[] sorted, double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        return sorted[(int) Math.min(sorted.length - 1, Math.floor(q * sorted.length))] / 1e6;
    }

    private static Synapse synapse(int port) {
        return Synapse.newBuilder().setVersion("0.0.0").setSynapseKey("mnist").setAddress("127.0.0.1")
                .setPort(Integer.toString(port)).build();
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "n/a";
        }
    }
}
