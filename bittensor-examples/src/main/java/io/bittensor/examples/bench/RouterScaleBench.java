package io.bittensor.examples.bench;

import io.bittensor.axon.Axon;
import io.bittensor.dendrite.Dendrite;
import io.bittensor.neuron.Neuron;
import io.bittensor.neuron.ServedInputs;
import io.bittensor.proto.Modality;
import io.bittensor.proto.Synapse;
import io.bittensor.router.Router;
import io.bittensor.router.RouterCall;
import java.io.File;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.random.RandomGeneratorFactory;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The Router and Dendrite over the network with up to 1000 synapses: real Axons on loopback, each
 * synapse its own endpoint (the Axons bind 0.0.0.0, so {@code 127.0.0.x:port} for x = 1..250 are
 * distinct endpoints of one server: 4 Axons give 1000), so the Dendrite's channel pool
 * ({@code maxChannels} 256) must evict. Per synapse count: ms per routed batch (Forward only,
 * median), peers called per batch, open channels after the run and channels evicted, live threads
 * and open file descriptors of the process after the run. The peers answer constant outputs.
 *
 * <p>Run: {@code OMP_NUM_THREADS=1 java -cp bittensor-examples/target/bittensor-examples.jar
 * io.bittensor.examples.bench.RouterScaleBench [batches per size, default 20]}
 */
public final class RouterScaleBench {

    private static final int AXONS = 4;
    private static final int HOSTS_PER_AXON = 250;
    private static final int BATCH = 32;
    private static final int SEQ = 4;
    private static final int FEATURES = 64;

    private RouterScaleBench() {
    }

    /** Ones for every row: the cost measured is the routing and the calls, not a model. */
    private static final class Ones implements Neuron {
        @Override
        public INDArray forwardTensor(INDArray x) {
            return Nd4j.ones(DataType.FLOAT, x.size(0), x.size(1), NETWORK_DIM);
        }
    }

    public static void main(String[] args) {
        ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
                org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(ch.qos.logback.classic.Level.WARN);
        int batches = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        List<Axon> axons = new ArrayList<>();
        List<Synapse> all = new ArrayList<>();
        try {
            for (int a = 0; a < AXONS; a++) {
                Axon.Builder b = Axon.builder().port(0).bindAddress("0.0.0.0");
                List<String> keys = new ArrayList<>();
                for (int h = 0; h < HOSTS_PER_AXON; h++) {
                    String key = String.format("0x%064x", a * HOSTS_PER_AXON + h + 1);
                    b.serve(key, new Ones());
                    keys.add(key);
                }
                Axon axon = b.build().start();
                axons.add(axon);
                for (int h = 0; h < HOSTS_PER_AXON; h++) {
                    all.add(Synapse.newBuilder().setVersion("0.0.0").setSynapseKey(keys.get(h))
                            .setAddress("127.0.0." + (h + 1)).setPort(Integer.toString(axon.port()))
                            .addServes(ServedInputs.tensor(FEATURES)).build());
                }
            }
            System.out.printf(Locale.ROOT, "load average at start: %.2f%n",
                    ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
            System.out.printf(Locale.ROOT, "Router + Dendrite, batch %d, seq %d, TENSOR [%d], top k 10,"
                    + " %d batches per size, maxChannels 256%n", BATCH, SEQ, FEATURES, batches);
            System.out.printf(Locale.ROOT, "%9s %10s %10s %10s %9s %9s %8s %8s %6s%n", "synapses",
                    "ms/batch", "ms p90", "called", "answered", "channels", "evicted", "threads",
                    "fds");
            int baseThreads = Thread.activeCount();
            long baseFds = openFds();
            System.out.printf(Locale.ROOT, "(before: %d threads, %d file descriptors)%n", baseThreads,
                    baseFds);
            for (int n : new int[] {10, 100, 1000}) {
                try (Dendrite dendrite = Dendrite.builder().timeout(Duration.ofSeconds(30))
                        .signRequests(false).build()) {
                    Router router = Router.builder(FEATURES, dendrite)
                            .random(RandomGeneratorFactory.of("L64X128MixRandom").create(n)).build();
                    List<Synapse> synapses = all.subList(0, n);
                    double[] ms = new double[batches];
                    long called = 0;
                    long answered = 0;
                    for (int i = 0; i < batches + 3; i++) {
                        INDArray x = Nd4j.randn(DataType.FLOAT, BATCH, FEATURES);
                        INDArray inputs = Nd4j.randn(DataType.FLOAT, BATCH, SEQ, FEATURES);
                        long t0 = System.nanoTime();
                        RouterCall call = router.forward(x, inputs, Modality.TENSOR, synapses);
                        long t = System.nanoTime() - t0;
                        if (i >= 3) { // the first batches open channels
                            ms[i - 3] = t / 1e6;
                            called += call.called().size();
                            answered += call.answeredCount();
                        }
                    }
                    Arrays.sort(ms);
                    System.out.printf(Locale.ROOT, "%9d %10.1f %10.1f %10.1f %9.1f %9d %8d %8d %6d%n",
                            n, ms[batches / 2], ms[(int) (batches * 0.9)], called / (double) batches,
                            answered / (double) batches, dendrite.openChannels(),
                            dendrite.evictedChannels(), Thread.activeCount(), openFds());
                }
                System.out.printf(Locale.ROOT, "          after closing the Dendrite: %d threads, %d file"
                        + " descriptors; threads by name: %s%n", Thread.activeCount(), openFds(), threadNames());
            }
            System.out.printf(Locale.ROOT, "load average at end: %.2f%n",
                    ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        } finally {
            axons.forEach(Axon::close);
        }
    }

    /** Live threads counted by name with digits dropped ("grpc-nio-worker-ELG-#-#" x4, ...). */
    private static java.util.Map<String, Long> threadNames() {
        return Thread.getAllStackTraces().keySet().stream().collect(java.util.stream.Collectors.groupingBy(
                t -> t.getName().replaceAll("[0-9]+", "#"), java.util.TreeMap::new,
                java.util.stream.Collectors.counting()));
    }

    private static long openFds() {
        String[] fds = new File("/proc/self/fd").list();
        return fds == null ? -1 : fds.length;
    }
}
