package io.bittensor.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.config.HostPort;
import io.bittensor.config.NeuronConfig;
import io.bittensor.proto.Synapse;
import io.bittensor.runtime.Dataset;
import io.bittensor.runtime.NeuronTrainer;
import io.bittensor.session.NeuronSession;
import io.bittensor.session.RemoteCallStats.PeerCounts;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two CIFAR-10 neurons, each in its own session on loopback, the second bootstrapped from the
 * first: they find each other through the metagraph, train with each other as context (Forward
 * and Backward through the router, answered OK both ways), and each one's loss falls. Real images
 * (the first of each class of the shared JPEG archive); CI-sized: a DPN with every part of the real
 * one but few channels, 80 training images, short gossip intervals, free ports.
 */
class CifarSwarmIT {
    /** Small enough for CI, with every piece of the DPN: two stages, a dense path, groups, a projection. */
    static final DpnConfig CI = new DpnConfig("ci", 8, new int[] {8, 16}, new int[] {16, 32}, new int[] {1, 1},
            new int[] {4, 4}, 4, new int[] {2, 2});
    private static final int TRAIN_PER_CLASS = 8;
    private static final int TEST_PER_CLASS = 3;
    private static final int BATCH = 10;
    private static final int EPOCHS = 4;
    /** Higher than the neuron's default, so that 32 steps show learning. */
    static final double LEARNING_RATE = 0.01;

    @TempDir
    Path dir;

    private final List<NeuronSession> sessions = new ArrayList<>();
    private final List<NeuronTrainer> neurons = new ArrayList<>();
    private final ExecutorService threads = Executors.newFixedThreadPool(2);

    private record Step(int epoch, int step, double remoteLoss, int answered) {}

    @AfterEach
    void tearDown() throws Exception {
        neurons.forEach(NeuronTrainer::stop);
        threads.shutdown();
        threads.awaitTermination(60, TimeUnit.SECONDS);
        sessions.forEach(NeuronSession::close);
        for (NeuronTrainer n : neurons) {
            n.close();
        }
    }

    /** A session with CI-sized gossip and thread counts, free ports on loopback. */
    static NeuronSession session(Path dir, String name, int epochs, int batch, HostPort... bootstrap) throws IOException {
        NeuronConfig config = NeuronConfig.builder().axonPort(0).metagraphPort(0).remoteIp("127.0.0.1")
                .bootstrap(List.of(bootstrap)).datapath(dir.resolve(name)).logdir(dir.resolve(name).resolve("logs"))
                .epochs(epochs).batchSize(batch).learningRate(LEARNING_RATE).build();
        return NeuronSession.builder(config).bindHost("127.0.0.1")
                .metagraph(m -> m.interval(Duration.ofMillis(100)).powDifficulty(1)
                        .requestTimeout(Duration.ofSeconds(2))
                        .expiryHorizon(Duration.ofSeconds(30)).reissueEvery(Duration.ofSeconds(1)))
                .dendrite(d -> d.timeout(Duration.ofSeconds(20)).ioThreads(1))
                .axon(a -> a.workerThreads(2).ioThreads(1))
                .build();
    }

    private NeuronTrainer neuron(String name, Dataset data, List<Step> log, HostPort... bootstrap) throws IOException {
        NeuronSession session = session(dir, name, EPOCHS, BATCH, bootstrap);
        sessions.add(session);
        NeuronTrainer n = NeuronTrainer.networked(DpnModel.spec(CI), session, data,
                new NeuronTrainer.Settings(name.hashCode(), 5, 10, 50));
        n.setListener((epoch, step, r, answered, stats) -> log.add(new Step(epoch, step, r.remoteLoss(), answered)));
        neurons.add(n);
        session.start();
        return n;
    }

    @Test
    void twoCifarNeuronsFindEachOtherCallEachOtherAndLearn() throws Exception {
        CifarData all = CifarDatasets.open(CifarSubset.extract(dir.resolve("images"), TRAIN_PER_CLASS, TEST_PER_CLASS)
                .toString(), dir);
        assertEquals(10 * TRAIN_PER_CLASS, all.train().size());
        List<List<Step>> logs = List.of(new CopyOnWriteArrayList<>(), new CopyOnWriteArrayList<>());
        NeuronTrainer a = neuron("a", CifarDataSplit.of(all, 1), logs.get(0));
        NeuronTrainer b = neuron("b", CifarDataSplit.of(all, 2), logs.get(1),
                HostPort.parse(sessions.get(0).metagraphAddress()));
        Set<String> keys = Set.of(a.synapseKey(), b.synapseKey());

        await(() -> sessions.stream().allMatch(s -> s.stats().peersKnown() == 1
                && s.synapses().stream().map(Synapse::getSynapseKey).collect(Collectors.toSet()).equals(keys)));

        List<Future<List<NeuronTrainer.EpochSummary>>> runs = new ArrayList<>();
        for (NeuronTrainer n : neurons) {
            runs.add(threads.submit(n::run));
        }
        List<List<NeuronTrainer.EpochSummary>> summaries = new ArrayList<>();
        for (Future<List<NeuronTrainer.EpochSummary>> f : runs) {
            List<NeuronTrainer.EpochSummary> epochs = f.get(900, TimeUnit.SECONDS); // a hang guard, not a timing goal
            assertEquals(EPOCHS, epochs.size());
            epochs.forEach(e -> assertFalse(e.stopped(), e.toString()));
            summaries.add(epochs);
        }

        List<NeuronTrainer> pair = List.of(a, b);
        for (int i = 0; i < 2; i++) {
            NeuronSession s = sessions.get(i);
            String peer = pair.get(1 - i).synapseKey();
            // Forward and Backward to the other neuron, answered OK (Backward runs behind the steps: wait for it).
            await(() -> {
                PeerCounts c = s.remoteCalls().byPeer().get(peer);
                return c != null && c.forwardOk() > 0 && c.backwardOk() > 0;
            });
            PeerCounts c = s.remoteCalls().byPeer().get(peer);
            assertTrue(c.forwardOk() >= c.forward() / 2, "neuron " + i + " → peer: " + c);
            assertTrue(s.stats().requestsServed() > 0, "neuron " + i + " served its peer");
            List<Step> log = logs.get(i);
            // Top-k 10 > 2 synapses: a step with 2 answers heard from itself and from the other neuron.
            assertTrue(log.stream().filter(st -> st.answered() == 2).count() > log.size() / 2,
                    "neuron " + i + " heard from both most of the time");
            // The remote head's training loss, averaged per epoch (batches of 10 are noisy): the best
            // later epoch is below the first. Not the last epoch: a lone or paired CIFAR neuron's 4th
            // epoch sometimes jumps back up (seen 2.54 -> 3.29 once, 2.54 -> 2.28 on the rerun), a known,
            // unexplained issue (docs/cifar.md); every epoch's loss must still be finite.
            List<Double> losses = summaries.get(i).stream().map(NeuronTrainer.EpochSummary::meanLoss).toList();
            losses.forEach(l -> assertTrue(Double.isFinite(l), "finite losses " + losses));
            double start = losses.get(0);
            double best = losses.subList(1, EPOCHS).stream().mapToDouble(Double::doubleValue).min().orElseThrow();
            System.out.printf("neuron %d: remote loss per epoch %s; %s%n", i, losses, c);
            assertTrue(best < 0.95 * start, "neuron " + i + " loss per epoch " + losses);
        }
    }

    static void await(BooleanSupplier condition) {
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, "condition not met within 60 s");
            LockSupport.parkNanos(Duration.ofMillis(20).toNanos()); // polling gossip and call counters
        }
    }
}
