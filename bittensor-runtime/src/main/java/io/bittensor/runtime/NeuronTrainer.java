package io.bittensor.runtime;

import io.bittensor.config.NativeBackend;
import io.bittensor.config.NeuronConfig;
import io.bittensor.session.NeuronSession;
import io.bittensor.session.SessionStats;
import io.bittensor.training.EpochProgress;
import io.bittensor.training.MetricsLog;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains a {@link NeuronModel} epoch by epoch, alone or on the network, and does what every neuron
 * does around that: each epoch trains on the shuffled training split, evaluates on the test split
 * (local head), appends metrics to {@code <logdir>/metrics.csv}, redraws the plots, and if the test
 * loss is the best so far saves the model to {@code model_path} (resumed from at start).
 *
 * <p>On the network ({@link #networked}) it also serves a snapshot of the model ({@link SnapshotNeuron},
 * re-served when the model improves) under the synapse key derived from the neuron key and the
 * spec's name ({@code Keypair.synapseKey(name)}), trains each batch with the network's answer as context ({@link NetworkStep}), and applies peers'
 * Backward gradients, queued by the served snapshot, on the training thread between steps.
 *
 * <p>Threads: {@link #run} and {@link #runEpoch} belong to one training thread; {@link #stop} may
 * be called from any thread and ends the run after the current step.
 */
public final class NeuronTrainer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NeuronTrainer.class);
    /** Steps between "network:" log lines (also written at each epoch's end). */
    static final int NETWORK_LOG_STEPS = 500;
    /** Weight of the newest step in the running loss and accuracy of progress lines and metrics. */
    private static final double SMOOTHING = 0.05;

    /**
     * Knobs beyond {@link NeuronConfig}.
     *
     * @param seed        seeds initialisation, shuffling, dropout and routing
     * @param logInterval training steps between metric rows
     * @param topK        peers each example is routed to, at most (networked runs)
     * @param evalBatch   batch size of evaluation
     * @param stepsPerEpoch training batches per epoch; 0 for one pass over the training split. With
     *                    N &gt; 0 the shuffled order carries on from one epoch to the next (reshuffled
     *                    when used up), for data sets whose pass is too long between evaluations
     */
    public record Settings(long seed, int logInterval, int topK, int evalBatch, int stepsPerEpoch) {
        public Settings {
            if (logInterval < 1 || topK < 1 || evalBatch < 1 || stepsPerEpoch < 0) {
                throw new IllegalArgumentException("logInterval, topK and evalBatch must be at least 1 and"
                        + " stepsPerEpoch at least 0: " + logInterval + ", " + topK + ", " + evalBatch + ", "
                        + stepsPerEpoch);
            }
        }

        /** Epochs of one pass over the training split. */
        public Settings(long seed, int logInterval, int topK, int evalBatch) {
            this(seed, logInterval, topK, evalBatch, 0);
        }

        /** These settings with another evaluation batch size. */
        public Settings withEvalBatch(int batch) {
            return new Settings(seed, logInterval, topK, batch, stepsPerEpoch);
        }

        /** A metric row every 50 steps, top-10 routing, evaluation in batches of 500. */
        public static Settings defaults(long seed) {
            return new Settings(seed, 50, 10, 500);
        }
    }

    /** Called after every training step on the training thread (tests, progress). */
    @FunctionalInterface
    public interface StepListener {
        /**
         * @param answered peers that answered the step's Forward (0 alone)
         * @param stats    the session's figures; null alone
         */
        void onStep(int epoch, int step, StepResult result, int answered, SessionStats stats);
    }

    /** Hears each row written to the metrics log: the train phase's running figures, each test. */
    @FunctionalInterface
    public interface PhaseListener {
        void onPhase(MetricsLog.Phase phase, double loss, double accuracy);
    }

    /**
     * One epoch's figures; the test figures are NaN for an epoch that was stopped.
     *
     * @param seconds     training time (without evaluation)
     * @param testSeconds evaluation time
     * @param stats       the session's figures at the epoch's end; null alone
     */
    public record EpochSummary(int epoch, int steps, double meanLoss, double trainAccuracy, double testLoss,
            double testAccuracy, double seconds, double testSeconds, SessionStats stats, boolean stopped) {
        public double stepsPerSecond() {
            return steps / seconds;
        }
    }

    private final NeuronSpec<?> spec;
    private final Dataset data;
    private final NeuronConfig config;
    private final Settings settings;
    private final Path modelPath;
    private final NeuronModel model;
    private final MetricsLog metrics;
    private final BatchOrder order;
    private final int stepsPerEpoch;
    // Networked runs only (null alone):
    private final NeuronSession session;
    private final NetworkStep network;
    private final SnapshotNeuron served;
    private final String synapseKey;

    private StepListener listener;
    private PhaseListener phaseListener;
    private int nextEpoch;
    private double bestLoss;
    private volatile boolean stopRequested;

    /**
     * A trainer without the network: local steps only.
     *
     * @throws io.bittensor.training.CheckpointException if model_path exists but cannot be used
     */
    public static NeuronTrainer solo(NeuronSpec<?> spec, Dataset data, NeuronConfig config, Settings settings)
            throws IOException {
        return new NeuronTrainer(spec, data, config, settings, null);
    }

    /**
     * A trainer on {@code session}: serves a snapshot of the model there (published when the
     * session starts) and trains with the network as context.
     *
     * @throws io.bittensor.training.CheckpointException if model_path exists but cannot be used
     */
    public static NeuronTrainer networked(NeuronSpec<?> spec, NeuronSession session, Dataset data, Settings settings)
            throws IOException {
        Objects.requireNonNull(session, "session");
        return new NeuronTrainer(spec, data, session.config(), settings, session);
    }

    private NeuronTrainer(NeuronSpec<?> spec, Dataset data, NeuronConfig config, Settings settings,
            NeuronSession session) throws IOException {
        this.spec = spec;
        this.data = data;
        this.config = config;
        this.settings = settings;
        this.session = session;
        this.modelPath = config.modelPath().orElse(config.datapath().resolve(spec.defaultModelFile()));
        this.stepsPerEpoch = settings.stepsPerEpoch() > 0 ? settings.stepsPerEpoch()
                : Epochs.stepsPerEpoch(data.train().size(), config.batchSize());
        double rate = config.learningRateOr(spec.defaultLearningRate());
        // On the network two optimizer steps per batch: ours, then (usually) one with peers' Backward gradients.
        int planned = (session == null ? 1 : 2) * config.epochs() * stepsPerEpoch;
        this.model = spec.factory().create(settings.seed(), rate, planned);
        MetricsLog log = null;
        try {
            ModelCheckpoints.Resume resumed = ModelCheckpoints.resume(model, modelPath);
            nextEpoch = resumed.nextEpoch();
            bestLoss = resumed.bestLoss();
            log = MetricsLog.open(config.logdir());
            this.order = new BatchOrder(data.train().size(), config.batchSize(), settings.stepsPerEpoch() > 0,
                    new SplittableRandom(settings.seed() + nextEpoch));
            if (session == null) {
                this.network = null;
                this.served = null;
                this.synapseKey = null;
                LOG.info("{} alone: seed {}, {} epochs of {} steps (batch {}), learning rate {}, native {}", spec.name(),
                        settings.seed(), config.epochs(), stepsPerEpoch, config.batchSize(), rate,
                        NativeBackend.describe());
            } else {
                this.synapseKey = session.keypair().synapseKey(spec.name());
                this.network = new NetworkStep(session, model.contextDim(), settings.seed(), settings.topK(),
                        synapseKey);
                this.served = new SnapshotNeuron(model.copy(), model.gradientQueueCapacity());
                session.serve(synapseKey, served);
                LOG.info("{} neuron: synapse {}, {} epochs of {} steps (batch {}), learning rate {}, seed {}", spec.name(),
                        synapseKey, config.epochs(), stepsPerEpoch, config.batchSize(), rate, settings.seed());
            }
        } catch (IOException | RuntimeException e) {
            if (log != null) {
                log.close();
            }
            model.close();
            throw e;
        }
        this.metrics = log;
    }

    /** Called after every step from now on; null for none. */
    public void setListener(StepListener listener) {
        this.listener = listener;
    }

    /** Called with each metrics row from now on (e.g. Prometheus gauges); null for none. */
    public void setPhaseListener(PhaseListener listener) {
        this.phaseListener = listener;
    }

    /** The synapse key the model is served under; null alone. */
    public String synapseKey() {
        return synapseKey;
    }

    public Path modelPath() {
        return modelPath;
    }

    /** The model being trained; owned by the training thread. */
    public NeuronModel model() {
        return model;
    }

    /** Ends {@link #run} (or the current {@link #runEpoch}) after the current step. */
    public void stop() {
        stopRequested = true;
    }

    /** Trains the remaining epochs (after a resumed checkpoint's), or until {@link #stop}. */
    public List<EpochSummary> run() throws IOException {
        List<EpochSummary> out = new ArrayList<>();
        while (nextEpoch <= config.epochs() && !stopRequested) {
            EpochSummary s = runEpoch();
            out.add(s);
            if (s.stopped()) {
                break;
            }
        }
        LOG.info("Metrics and plots in {}", config.logdir().toAbsolutePath());
        return out;
    }

    /** One epoch: train on the training split, evaluate, log, save (and re-serve) if improved. */
    public EpochSummary runEpoch() throws IOException {
        int epoch = nextEpoch++;
        DataSplit train = data.train();
        int steps = stepsPerEpoch;
        order.startEpoch();
        EpochProgress progress = EpochProgress.logging(epoch, steps);
        double lossSum = 0;
        long correct = 0;
        int examples = 0;
        double runLoss = Double.NaN;
        double runAcc = Double.NaN;
        long start = System.nanoTime();
        int step = 0;
        for (; step < steps && !stopRequested; step++) {
            Batch b = order.next(train);
            StepResult s;
            int answered = 0;
            if (network == null) {
                s = model.trainLocal(b);
            } else {
                long t0 = System.nanoTime();
                served.applyQueuedTo(model);
                network.phases().add(StepPhases.Phase.PEER_GRADIENTS, System.nanoTime() - t0);
                // The next batch is routed while this one trains (an early route; see NetworkStep).
                Batch next = step + 1 < steps ? order.peek(train) : null;
                NetworkStep.Result r = network.train(model, b, next);
                s = r.step();
                answered = r.answered();
            }
            double loss = s.reportedLoss();
            lossSum += loss * s.count();
            correct += s.correct();
            examples += s.count();
            runLoss = Double.isNaN(runLoss) ? loss : (1 - SMOOTHING) * runLoss + SMOOTHING * loss;
            runAcc = Double.isNaN(runAcc) ? s.accuracy() : (1 - SMOOTHING) * runAcc + SMOOTHING * s.accuracy();
            progress.update(step + 1, runLoss, runAcc);
            SessionStats stats = session == null ? null : session.stats();
            if ((step + 1) % settings.logInterval() == 0 || step + 1 == steps) {
                long global = (long) (epoch - 1) * steps + step + 1;
                append(MetricsLog.Phase.TRAIN, epoch, global, runLoss, runAcc, stats,
                        session == null ? Double.NaN : session.remoteCalls().window());
            }
            if (session != null && (step + 1) % NETWORK_LOG_STEPS == 0) {
                logNetwork();
            }
            if (listener != null) {
                listener.onStep(epoch, step, s, answered, stats);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        SessionStats stats = session == null ? null : session.stats();
        if (step < steps) {
            LOG.info("epoch {} stopped after {} of {} steps", epoch, step, steps);
            return new EpochSummary(epoch, step, examples == 0 ? Double.NaN : lossSum / examples,
                    examples == 0 ? Double.NaN : (double) correct / examples, Double.NaN, Double.NaN, seconds, 0, stats,
                    true);
        }
        TestResult t = Epochs.evaluate(model, data.test(), settings.evalBatch());
        append(MetricsLog.Phase.TEST, epoch, (long) epoch * steps, t.loss(), t.accuracy(), stats,
                stats == null ? Double.NaN : stats.remoteSuccessRate());
        metrics.plot();
        String figures = String.format(Locale.ROOT, "epoch %d: %s; %.1f s, %.1f steps/s", epoch, model.describe(t),
                seconds, step / seconds);
        if (stats == null) {
            LOG.info(figures);
        } else {
            LOG.info(figures + String.format(Locale.ROOT,
                    "; peers %d, synapses %d, remote calls %d (%.1f %% ok), requests served %d", stats.peersKnown(),
                    stats.synapsesKnown(), stats.remoteCalls(), 100 * stats.remoteSuccessRate(), stats.requestsServed()));
            logNetwork();
        }
        if (t.loss() < bestLoss) {
            bestLoss = t.loss();
            ModelCheckpoints.saveBest(model, modelPath, epoch, t, settings.seed());
            if (served != null) {
                // The snapshot it replaces is left to the GC: an Axon thread may still be using it.
                served.serve(model.copy());
                LOG.info("Saved the best model so far to {} and serving it", modelPath);
            } else {
                LOG.info("Saved the best model so far to {}", modelPath);
            }
        }
        return new EpochSummary(epoch, steps, lossSum / examples, (double) correct / examples, t.loss(), t.accuracy(),
                seconds, t.seconds(), stats, false);
    }

    /** Who we called and how it went, and what we served: the evidence that Forward and Backward flow both ways. */
    private void logNetwork() {
        StringBuilder sb = new StringBuilder("network: served Forward ").append(served.forwardCalls())
                .append(", Backward ").append(served.backwardCalls()).append(';');
        session.remoteCalls().byPeer().forEach((key, c) -> sb.append(' ')
                .append(key.equals(synapseKey) ? "self" : abbreviate(key))
                .append(String.format(Locale.ROOT, " Forward %d/%d ok, Backward %d/%d ok;", c.forwardOk(), c.forward(),
                        c.backwardOk(), c.backward())));
        LOG.info(sb.substring(0, sb.length() - 1));
        if (network.phases().steps() > 0) {
            int skipped = network.gateStepsSkipped();
            LOG.info("network step, {}; served Forward {}, Backward {}{}", network.phases().summary(),
                    perCall(served.meanForwardMillis()), perCall(served.meanBackwardMillis()),
                    skipped == 0 ? "" : "; gate steps skipped (non-finite gradient) " + skipped);
            network.phases().reset();
        }
    }

    /** "4.9 ms per call", or "no calls" (a lone neuron gets no Backward). */
    private static String perCall(double millis) {
        return Double.isNaN(millis) ? "no calls" : String.format(Locale.ROOT, "%.1f ms per call", millis);
    }

    private static String abbreviate(String synapseKey) {
        return synapseKey.length() > 14 ? synapseKey.substring(0, 10) + "…" + synapseKey.substring(synapseKey.length() - 4)
                : synapseKey;
    }

    /** Metrics are a by-product: failing to write them must not stop training. */
    private void append(MetricsLog.Phase phase, int epoch, long step, double loss, double accuracy, SessionStats s,
            double rate) {
        if (phaseListener != null) {
            phaseListener.onPhase(phase, loss, accuracy);
        }
        try {
            metrics.append(phase, epoch, step, loss, accuracy, s == null ? 0 : s.peersKnown(), rate,
                    s == null ? 0 : s.requestsServed());
        } catch (IOException e) {
            LOG.warn("could not append to {}: {}", metrics.file(), e.toString());
        }
    }

    /**
     * Stops routing and Backward; closes the metrics and the model. A networked trainer's session
     * (owned by the caller) should be closed first, so no peer is still calling the served snapshot.
     */
    @Override
    public void close() throws IOException {
        if (network != null) {
            network.close();
        }
        metrics.close();
        model.close();
    }
}
