package io.bittensor.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.config.NeuronConfig;
import io.bittensor.session.NeuronSession;
import io.bittensor.session.SessionStats;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A networked trainer alone on loopback: it serves its TENSOR model under {@code <key>/linear},
 * routes every batch to its own Axon (as the original, our synapse is in the list) and trains
 * with the answer; it sends itself no Backward.
 */
class NeuronTrainerIT {
    @TempDir
    Path tmp;

    @Test
    void trainsThroughItsOwnAxonAndAppliesThePeersGradients() throws Exception {
        NeuronConfig config = NeuronConfig.builder().axonPort(0).metagraphPort(0).remoteIp("127.0.0.1").datapath(tmp)
                .logdir(tmp.resolve("logs")).epochs(2).batchSize(20).build();
        Dataset data = Dataset.of(Blobs.of(200, 4, 3, 1), Blobs.of(100, 4, 3, 2));
        List<int[]> steps = new ArrayList<>();
        List<SessionStats> stats = new ArrayList<>();
        try (NeuronSession session = NeuronSession.builder(config).bindHost("127.0.0.1")
                .metagraph(m -> m.interval(Duration.ofMillis(100)).powDifficulty(1))
                .dendrite(d -> d.timeout(Duration.ofSeconds(10)).ioThreads(1))
                .axon(a -> a.workerThreads(2).ioThreads(1))
                .build();
                NeuronTrainer trainer = NeuronTrainer.networked(LinearModel.spec(4, 3), session, data,
                        new NeuronTrainer.Settings(3, 5, 10, 50))) {
            assertEquals(session.keypair().synapseKey("linear"), trainer.synapseKey());
            trainer.setListener((epoch, step, r, answered, s) -> {
                steps.add(new int[] {epoch, step, answered});
                stats.add(s);
            });
            session.start();
            List<NeuronTrainer.EpochSummary> epochs = trainer.run();
            assertEquals(2, epochs.size());
            for (NeuronTrainer.EpochSummary e : epochs) {
                assertFalse(e.stopped(), e.toString());
            }
            assertTrue(epochs.get(1).testAccuracy() > 0.9, epochs.toString());
            assertEquals(20, steps.size());
            assertTrue(steps.stream().skip(5).allMatch(s -> s[2] == 1), "its own Axon answers every routed step");
            SessionStats last = stats.get(stats.size() - 1);
            assertTrue(last.remoteOk() > 0 && last.requestsServed() > 0, last.toString());
            // 20 steps of its own and no more: a neuron sends no Backward to its own synapse.
            assertEquals(20, trainer.model().iteration());
            assertEquals(0, last.requestsServed() - last.remoteOk(), "it served only its own Forwards: " + last);
            // Each batch is routed once, and before the step ahead of it trains (its peers compute
            // meanwhile), except an epoch's first: 10 steps an epoch.
            LinearModel model = (LinearModel) trainer.model();
            assertEquals(20, model.contexts.get());
            List<Integer> expected = new ArrayList<>();
            for (int epoch = 0; epoch < 2; epoch++) {
                for (int step = 0; step < 10; step++) {
                    expected.add(epoch * 10 + Math.min(step + 2, 10));
                }
            }
            assertEquals(expected, model.contextsAtTrain);
            // Each step's call is closed after its gate step: its reply buffers wait for reuse.
            assertTrue(session.dendrite().idleReplyBytes() > 0, "replies given back to the Dendrite");
            assertTrue(session.dendrite().idleRequestBytes() > 0, "request buffers given back to the Dendrite");
            session.close(); // the served snapshot stops being called before the trainer closes the model
        }
    }

    @Test
    void anEarlyRoutesContextIsComputedOnTheRoutingThreadWhenTheModelOffersASnapshot() throws Exception {
        NeuronConfig config = NeuronConfig.builder().axonPort(0).metagraphPort(0).remoteIp("127.0.0.1").datapath(tmp)
                .logdir(tmp.resolve("logs")).epochs(2).batchSize(20).build();
        Dataset data = Dataset.of(Blobs.of(200, 4, 3, 1), Blobs.of(100, 4, 3, 2));
        try (NeuronSession session = NeuronSession.builder(config).bindHost("127.0.0.1")
                .metagraph(m -> m.interval(Duration.ofMillis(100)).powDifficulty(1))
                .dendrite(d -> d.timeout(Duration.ofSeconds(10)).ioThreads(1))
                .axon(a -> a.workerThreads(2).ioThreads(1))
                .build();
                NeuronTrainer trainer = NeuronTrainer.networked(LinearModel.spec(4, 3, true), session, data,
                        new NeuronTrainer.Settings(3, 5, 10, 50))) {
            session.start();
            String trainingThread = Thread.currentThread().getName();
            List<NeuronTrainer.EpochSummary> epochs = trainer.run();
            assertTrue(epochs.get(1).testAccuracy() > 0.9, epochs.toString());
            LinearModel model = (LinearModel) trainer.model();
            // An epoch's first batch is routed at once, on the training thread; the other nine
            // early, each from a snapshot taken between steps and computed on the routing thread.
            assertEquals(List.of(trainingThread, trainingThread), model.directThreads);
            assertEquals(18, model.snapshotsTaken.get());
            assertEquals(java.util.Collections.nCopies(18, "network-route"), model.snapshotThreads);
            assertEquals(18, model.snapshotsClosed.get(), "every snapshot is closed once its context is computed");
            session.close();
        }
    }
}
