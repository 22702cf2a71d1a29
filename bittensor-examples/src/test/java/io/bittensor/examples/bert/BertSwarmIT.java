package io.bittensor.examples.bert;

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
import io.bittensor.training.MetricsLog;
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
 * Two text neurons on the runtime ({@link NeuronTrainer} over {@link BertModel}), each in its own
 * session on loopback, B bootstrapped from A: they find each other, train masked-language
 * modelling on real State of the Union text with each other's TEXT answers as context (Forward,
 * and Backward of the gradients), and each one's loss falls. CI-sized: a small model, four
 * addresses, epochs of 15 steps, 16 validation sequences, short gossip intervals, free ports.
 *
 * <p>Two epochs: the second runs against each peer's re-served, improved snapshot (whose larger
 * answers once drove the fused gelu's derivative to NaN, docs/bert.md).
 */
class BertSwarmIT {
    private static final BertConfig SMALL = new BertConfig(WordPiece.VOCAB_SIZE, 32, 1, 2, 64, 64, 32);
    private static final int BATCH = 8;
    private static final int STEPS = 15;
    private static final int EPOCHS = 2;

    @TempDir
    Path dir;

    private final List<NeuronSession> sessions = new ArrayList<>();
    private final List<NeuronTrainer> neurons = new ArrayList<>();
    private final ExecutorService threads = Executors.newFixedThreadPool(2);

    private record Step(double remoteLoss, int answered) {}

    /** Validation losses each neuron reported to its phase listener (what --metrics_port serves). */
    private final List<List<Double>> reportedValidation = List.of(new CopyOnWriteArrayList<>(),
            new CopyOnWriteArrayList<>());

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

    private NeuronTrainer neuron(String name, TextCorpus corpus, List<Step> log, HostPort... bootstrap)
            throws IOException {
        NeuronConfig config = NeuronConfig.builder().axonPort(0).metagraphPort(0).remoteIp("127.0.0.1")
                .bootstrap(List.of(bootstrap)).datapath(dir.resolve(name)).logdir(dir.resolve(name).resolve("logs"))
                .epochs(EPOCHS).batchSize(BATCH).learningRate(5e-3).build();
        NeuronSession session = NeuronSession.builder(config).bindHost("127.0.0.1")
                .metagraph(m -> m.interval(Duration.ofMillis(100)).powDifficulty(1)
                        .requestTimeout(Duration.ofSeconds(2))
                        .expiryHorizon(Duration.ofSeconds(30)).reissueEvery(Duration.ofSeconds(5)))
                .dendrite(d -> d.timeout(Duration.ofSeconds(30)).ioThreads(1))
                .axon(a -> a.workerThreads(2).ioThreads(1))
                .build();
        sessions.add(session);
        Dataset data = corpus.dataset(SMALL.sequence(), BATCH, name.hashCode()).limit(0, 16);
        NeuronTrainer n = NeuronTrainer.networked(BertModel.spec(SMALL), session, data,
                new NeuronTrainer.Settings(name.hashCode(), 5, 10, BATCH, STEPS));
        n.setListener((epoch, step, r, answered, stats) -> log.add(new Step(r.remoteLoss(), answered)));
        List<Double> reported = reportedValidation.get(neurons.size());
        n.setPhaseListener((phase, loss, accuracy) -> {
            if (phase == MetricsLog.Phase.TEST) {
                reported.add(loss);
            }
        });
        neurons.add(n);
        session.start();
        return n;
    }

    @Test
    void twoTextNeuronsTrainWithEachOther() throws Exception {
        WordPiece wp = WordPiece.bertBaseUncased(WordPieceTest.DATA);
        TextCorpus all = TextCorpus.sotu(WordPieceTest.DATA, wp);
        TextCorpus few = new TextCorpus(all.train().subList(0, 4), all.validation().subList(0, 1),
                all.trainNames().subList(0, 4), all.validationNames().subList(0, 1));
        List<List<Step>> logs = List.of(new CopyOnWriteArrayList<>(), new CopyOnWriteArrayList<>());
        NeuronTrainer a = neuron("a", few, logs.get(0));
        NeuronTrainer b = neuron("b", few, logs.get(1), HostPort.parse(sessions.get(0).metagraphAddress()));
        Set<String> keys = Set.of(a.synapseKey(), b.synapseKey());
        await(() -> sessions.stream().allMatch(s -> s.stats().peersKnown() == 1
                && s.synapses().stream().map(Synapse::getSynapseKey).collect(Collectors.toSet()).equals(keys)));

        List<Future<List<NeuronTrainer.EpochSummary>>> runs = List.of(threads.submit(a::run), threads.submit(b::run));
        for (int i = 0; i < 2; i++) {
            List<NeuronTrainer.EpochSummary> epochs = runs.get(i).get(600, TimeUnit.SECONDS);
            assertEquals(epochs.stream().map(NeuronTrainer.EpochSummary::testLoss).toList(), reportedValidation.get(i));
            assertEquals(EPOCHS, epochs.size());
            for (NeuronTrainer.EpochSummary e : epochs) {
                assertFalse(e.stopped(), e.toString());
                assertEquals(STEPS, e.steps(), e.toString());
                assertTrue(Double.isFinite(e.testLoss()), e.toString());
            }
            assertTrue(epochs.get(1).testLoss() < epochs.get(0).testLoss(), epochs.toString());
        }
        for (int i = 0; i < 2; i++) {
            // The other neuron's Forward and Backward to this one were answered (Backward runs behind the steps).
            NeuronSession caller = sessions.get(1 - i);
            String served = neurons.get(i).synapseKey();
            await(() -> {
                PeerCounts c = caller.remoteCalls().byPeer().get(served);
                return c != null && c.forwardOk() > 0 && c.backwardOk() > 0;
            });
            List<Step> log = logs.get(i);
            // Both peers answer (itself and the other): top-k 10 > 2 synapses.
            assertTrue(log.stream().anyMatch(s -> s.answered() == 2), "neuron " + i + " heard from its peer");
            assertEquals(EPOCHS * STEPS, log.size());
            assertTrue(log.stream().allMatch(s -> Double.isFinite(s.remoteLoss())), "neuron " + i + " losses " + log);
            double start = log.subList(0, 3).stream().mapToDouble(Step::remoteLoss).average().orElseThrow();
            double end = log.subList(log.size() - 3, log.size()).stream().mapToDouble(Step::remoteLoss).average()
                    .orElseThrow();
            assertTrue(end < start - 0.5, "neuron " + i + " masked-token loss " + start + " -> " + end);
        }
    }

    private static void await(BooleanSupplier condition) {
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, "condition not met within 60 s");
            LockSupport.parkNanos(Duration.ofMillis(20).toNanos()); // polling gossip
        }
    }
}
