package io.bittensor.examples.bench;

import io.bittensor.axon.Axon;
import io.bittensor.dendrite.Dendrite;
import io.bittensor.examples.mnist.MnistModel;
import io.bittensor.neuron.BatchingNeuron;
import io.bittensor.neuron.Neuron;
import io.bittensor.proto.Modality;
import io.bittensor.proto.Synapse;
import io.bittensor.runtime.SnapshotNeuron;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
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
 * [callers, default 16] [rows per request, default 8] [dispatchers, default 1]}.
 * Figures: docs/benchmarks.md.
 */
public final class BatchingBench {

    private BatchingBench() {
    }

    public static void main(String[] args) throws Exception {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 5;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        int callers = args.length > 2 ? Integer.parseInt(args[2]) : 16;
        int rows = args.length > 3 ? Integer.parseInt(args[3]) : 8;
        int dispatchers = args.length > 4 ? Integer.parseInt(args[4]) : 1;
        System.out.printf(Locale.ROOT, "BatchingBench: %d cores, %d callers x IMAGE [%d, 1, 1, 28, 28], "
                + "%d dispatcher(s), %.0f s per round, load average at start %s%n",
                Runtime.getRuntime().availableProcessors(), callers, rows, dispatchers, seconds, ClosedLoop.loadAverage());
        MnistModel model = new MnistModel(MnistModel.Options.defaults(1, MnistModel.DEFAULT_LEARNING_RATE, 1000));
        Neuron plain = new SnapshotNeuron(model.copy(), 16);
        try (BatchingNeuron batched = BatchingNeuron.builder(new SnapshotNeuron(model.copy(), 16))
                     .maxBatchRows(256).maxWait(Duration.ofMillis(1)).dispatchers(dispatchers).build();
             // Workers mostly wait for their batch: enough of them for every caller to be queued.
             Axon a = Axon.builder().bindAddress("127.0.0.1").port(0).workerThreads(callers + 2)
                     .serve("mnist", plain).build().start();
             Axon b = Axon.builder().bindAddress("127.0.0.1").port(0).workerThreads(callers + 2)
                     .serve("mnist", batched).build().start();
             Dendrite dendrite = Dendrite.builder().signRequests(false).timeout(Duration.ofSeconds(10)).build()) {
            Synapse pa = ClosedLoop.synapse("mnist", a.port());
            Synapse pb = ClosedLoop.synapse("mnist", b.port());
            INDArray x = Nd4j.rand(DataType.FLOAT, rows, 1, 1, 28, 28);
            ClosedLoop.run(dendrite, pa, x, Modality.IMAGE, callers, seconds); // warm-up, both
            ClosedLoop.run(dendrite, pb, x, Modality.IMAGE, callers, seconds);
            System.out.printf(Locale.ROOT, "%-6s %-10s %12s %10s %10s %10s %7s%n", "round", "server",
                    "requests/s", "images/s", "p50 ms", "p99 ms", "errors");
            double[] ratio = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                ClosedLoop.Result u = ClosedLoop.run(dendrite, pa, x, Modality.IMAGE, callers, seconds);
                ClosedLoop.Result v = ClosedLoop.run(dendrite, pb, x, Modality.IMAGE, callers, seconds);
                print(r + 1, "unbatched", u, rows);
                print(r + 1, "batched", v, rows);
                ratio[r] = v.perSecond() / u.perSecond();
            }
            Arrays.sort(ratio);
            System.out.printf(Locale.ROOT, "batched / unbatched throughput: median %.2f (min %.2f, max %.2f)"
                    + "   goal >= 3%n", ratio[rounds / 2], ratio[0], ratio[rounds - 1]);
        } finally {
            model.close();
        }
        System.out.printf(Locale.ROOT, "load average at end %s%n", ClosedLoop.loadAverage());
    }

    private static void print(int round, String name, ClosedLoop.Result r, int rows) {
        System.out.printf(Locale.ROOT, "%-6d %-10s %12.0f %10.0f %10.2f %10.2f %7d%n", round, name,
                r.perSecond(), r.perSecond() * rows, r.p50Ms(), r.p99Ms(), r.errors());
    }
}
