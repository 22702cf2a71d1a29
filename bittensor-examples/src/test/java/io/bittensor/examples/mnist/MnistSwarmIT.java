package io.bittensor.examples.mnist;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.config.HostPort;
import io.bittensor.config.NeuronConfig;
import io.bittensor.proto.Synapse;
import io.bittensor.runtime.NeuronTrainer;
import io.bittensor.session.NeuronSession;
import io.bittensor.session.SessionStats;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
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
 * Three MNIST neurons, each in its own session on loopback, bootstrapped in a chain (B→A, C→B):
 * they reach a full view, train with each other as context (Forward and Backward through the
 * router), their losses fall, and when one is killed mid-epoch the other two keep training.
 * CI-sized: 300 training images, short gossip intervals, free ports.
 */
class MnistSwarmIT {
    private static final int TRAIN = 300;
    private static final int TEST = 200;
    private static final int BATCH = 20;
    private static final int EPOCHS = 3;

    @TempDir
    Path dir;

    private final List<NeuronSession> sessions = new ArrayList<>();
    private final List<NeuronTrainer> neurons = new ArrayList<>();
    private final ExecutorService threads = Executors.newFixedThreadPool(3);

    /** Per neuron, what each training step saw. */
    private record Step(int epoch, int step, double remoteLoss, int answered, SessionStats stats) {}

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

    private NeuronTrainer neuron(String name, MnistDataset data, List<Step> log, HostPort... bootstrap) throws IOException {
        NeuronConfig config = NeuronConfig.builder().axonPort(0).metagraphPort(0).remoteIp("127.0.0.1")
                .bootstrap(List.of(bootstrap)).datapath(dir.resolve(name)).logdir(dir.resolve(name).resolve("logs"))
                .epochs(EPOCHS).batchSize(BATCH).build();
        NeuronSession session = NeuronSession.builder(config).bindHost("127.0.0.1")
                .metagraph(m -> m.interval(Duration.ofMillis(100)).powDifficulty(1)
                        .requestTimeout(Duration.ofSeconds(2))
                        .expiryHorizon(Duration.ofSeconds(3)).reissueEvery(Duration.ofSeconds(1)))
                .dendrite(d -> d.timeout(Duration.ofSeconds(10)).ioThreads(1))
                .axon(a -> a.workerThreads(2).ioThreads(1))
                .build();
        sessions.add(session);
        NeuronTrainer n = NeuronTrainer.networked(MnistModel.spec(), session, data,
                new NeuronTrainer.Settings(name.hashCode(), 5, 10, 100));
        n.setListener((epoch, step, r, answered, stats) ->
                log.add(new Step(epoch, step, r.remoteLoss(), answered, stats)));
        neurons.add(n);
        session.start();
        return n;
    }

    @Test
    void threeNeuronsTrainTogetherAndTwoCarryOnWhenOneDies() throws Exception {
        MnistDataset all = MnistData.load(Path.of("target", "test-data"));
        MnistDataset data = new MnistDataset(all.train().head(TRAIN), all.test().head(TEST));
        List<List<Step>> logs = List.of(new CopyOnWriteArrayList<>(), new CopyOnWriteArrayList<>(),
                new CopyOnWriteArrayList<>());
        NeuronTrainer a = neuron("a", data, logs.get(0));
        NeuronTrainer b = neuron("b", data, logs.get(1), HostPort.parse(sessions.get(0).metagraphAddress()));
        NeuronTrainer c = neuron("c", data, logs.get(2), HostPort.parse(sessions.get(1).metagraphAddress()));
        Set<String> keys = Set.of(a.synapseKey(), b.synapseKey(), c.synapseKey());

        // Full view: every metagraph holds all three synapses and knows the other two peers.
        await(() -> sessions.stream().allMatch(s -> s.stats().peersKnown() == 2
                && s.synapses().stream().map(Synapse::getSynapseKey).collect(Collectors.toSet()).equals(keys)));

        // Epoch 1, all three together.
        List<Future<NeuronTrainer.EpochSummary>> first = new ArrayList<>();
        for (NeuronTrainer n : neurons) {
            first.add(threads.submit(n::runEpoch));
        }
        for (int i = 0; i < 3; i++) {
            NeuronTrainer.EpochSummary e = first.get(i).get(120, TimeUnit.SECONDS);
            assertFalse(e.stopped());
            // Optimizer steps beyond its own: peers' Backward gradients (none comes from itself).
            assertTrue(neurons.get(i).model().iteration() > e.steps(),
                    "neuron " + i + " applied peers' gradients: " + neurons.get(i).model().iteration() + " steps");
        }
        for (int i = 0; i < 3; i++) {
            List<Step> log = logs.get(i);
            SessionStats s = log.get(log.size() - 1).stats();
            assertTrue(s.remoteOk() > 0 && s.remoteSuccessRate() > 0, "neuron " + i + " remote calls: " + s);
            assertTrue(s.requestsServed() > 0, "neuron " + i + " served: " + s);
            // Every example goes to all three (top-k 10 > 3 peers): a step with 3 answers is a step
            // in which both other neurons answered.
            assertTrue(log.stream().anyMatch(st -> st.answered() == 3), "neuron " + i + " heard from both peers");
        }

        // Epoch 2: kill C once A is a few steps in; A and B finish this epoch and the next.
        int before = logs.get(0).size();
        Future<?> aRun = threads.submit(() -> List.of(a.runEpoch(), a.runEpoch()));
        Future<?> bRun = threads.submit(() -> List.of(b.runEpoch(), b.runEpoch()));
        Future<?> cRun = threads.submit(c::runEpoch);
        await(() -> logs.get(0).size() >= before + 3);
        c.stop();
        sessions.get(2).close(); // its Axon and metagraph vanish while A and B are mid-epoch
        int killedAt = logs.get(0).size();
        try {
            cRun.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            // C's own step may fail on its closed session: it is the one that died.
        }

        for (Future<?> f : List.of(aRun, bRun)) {
            @SuppressWarnings("unchecked")
            List<NeuronTrainer.EpochSummary> epochs = (List<NeuronTrainer.EpochSummary>) f.get(150, TimeUnit.SECONDS);
            for (NeuronTrainer.EpochSummary e : epochs) {
                assertFalse(e.stopped(), "kept training: " + e);
                assertTrue(Double.isFinite(e.meanLoss()) && Double.isFinite(e.testLoss()), e.toString());
            }
        }
        List<Step> afterKill = logs.get(0).subList(killedAt, logs.get(0).size());
        assertTrue(afterKill.size() > TRAIN / BATCH, "A trained on after the kill: " + afterKill.size());
        // A still hears from B (and itself) after C is gone.
        assertTrue(afterKill.stream().skip(afterKill.size() / 2).allMatch(st -> st.answered() >= 2),
                "A's calls to B and itself keep succeeding");
        assertTrue(sessions.get(0).stats().remoteOk() > logs.get(0).get(killedAt).stats().remoteOk());

        // Losses fell for every neuron (C over the part it lived).
        for (int i = 0; i < 3; i++) {
            List<Step> log = logs.get(i);
            double start = mean(log.subList(0, 3));
            double end = mean(log.subList(log.size() - 3, log.size()));
            assertTrue(end < 0.8 * start, "neuron " + i + " loss " + start + " -> " + end);
        }
        // The metagraph of a survivor forgets C once its expiry passes.
        await(() -> sessions.get(0).metagraph().synapse(c.synapseKey()).isEmpty());
    }

    private static double mean(List<Step> steps) {
        return steps.stream().mapToDouble(Step::remoteLoss).average().orElseThrow();
    }

    private static void await(BooleanSupplier condition) {
        long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, "condition not met within 30 s");
            LockSupport.parkNanos(Duration.ofMillis(20).toNanos()); // polling gossip and training progress
        }
    }
}
