package io.bittensor.examples.mnist;

import io.bittensor.config.NeuronConfig;
import io.bittensor.neuron.Neuron;
import io.bittensor.proto.Modality;
import io.bittensor.session.NeuronSession;
import io.bittensor.session.SessionStats;
import io.bittensor.training.EpochProgress;
import io.bittensor.training.MetricsLog;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The networked MNIST neuron on a {@link NeuronSession}: serves a snapshot of its model (a
 * {@link MnistNeuron}), and trains with the network's answer as context ({@link MnistNetworkStep})
 * while peers' Backward gradients reach the model through the neuron's bounded queue. Each epoch: train, evaluate on the test split (local
 * head), append metrics, redraw plots, and if the test loss is the best so far save the model to
 * {@code model_path} and serve a fresh snapshot.
 *
 * <p>Threads: {@link #run} and {@link #runEpoch} belong to one training thread; {@link #stop} may
 * be called from any thread and ends the run after the current step.
 */
public final class MnistNeuronTrainer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MnistNeuronTrainer.class);
    /** Checkpoint file in datapath when --model_path is not given (the solo main's too). */
    public static final String DEFAULT_MODEL_FILE = MnistSoloMain.DEFAULT_MODEL_FILE;
    /** Peers' parameter gradients waiting for the training thread, at most. */
    static final int GRADIENT_QUEUE = 64;
    /** Steps between "network:" log lines (also written at each epoch's end). */
    static final int NETWORK_LOG_STEPS = 500;

    /** Knobs beyond {@link NeuronConfig}. */
    public record Settings(long seed, int logInterval, int topK, int evalBatch) {
        public static Settings defaults(long seed) {
            return new Settings(seed, 50, 10, 500);
        }
    }

    /** Called after every training step (tests, progress). */
    @FunctionalInterface
    public interface StepListener {
        void onStep(int epoch, int step, MnistModel.StepResult result, int answered, SessionStats stats);
    }

    /** One epoch's figures. */
    public record EpochSummary(int epoch, int steps, double meanLoss, double trainAccuracy, double testLoss,
            double testAccuracy, double seconds, SessionStats stats, boolean stopped) {}

    private final NeuronSession session;
    private final MnistDataset data;
    private final NeuronConfig config;
    private final Settings settings;
    private final Path modelPath;
    private final MnistModel model;
    private final MnistNetworkStep network;
    private final AtomicLong servedForward = new AtomicLong();
    private final AtomicLong servedBackward = new AtomicLong();
    private final MetricsLog metrics;
    private final String synapseKey;
    private final SplittableRandom rng;
    private final MnistNeuron served;
    private StepListener listener;
    private PhaseListener phaseListener;
    private int nextEpoch = 1;
    private double bestLoss = Double.POSITIVE_INFINITY;
    private volatile boolean stopRequested;

    /**
     * Builds the model (resuming from {@code model_path} if it exists) and serves a snapshot of it
     * on the session (published when the session starts).
     *
     * @throws io.bittensor.training.CheckpointException if model_path exists but cannot be used
     */
    public MnistNeuronTrainer(NeuronSession session, MnistDataset data, Settings settings) throws IOException {
        this.session = session;
        this.data = data;
        this.config = session.config();
        this.settings = settings;
        this.modelPath = config.modelPath().orElse(config.datapath().resolve(DEFAULT_MODEL_FILE));
        int steps = MnistTraining.stepsPerEpoch(data.train().size(), config.batchSize());
        double rate = config.learningRateOr(MnistModel.DEFAULT_LEARNING_RATE);
        // Two optimizer steps per batch: ours, then (usually) one with peers' Backward gradients.
        this.model = new MnistModel(MnistModel.Options.defaults(settings.seed(), rate, 2 * config.epochs() * steps));
        try {
            MnistCheckpoint resumed = MnistCheckpoint.resume(model, modelPath);
            nextEpoch = resumed.nextEpoch();
            bestLoss = resumed.bestLoss();
            this.metrics = MetricsLog.open(config.logdir());
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
        this.rng = new SplittableRandom(settings.seed() + nextEpoch);
        this.network = new MnistNetworkStep(session, settings.seed(), settings.topK());
        this.synapseKey = session.keypair().synapseKey("mnist");
        this.served = new MnistNeuron(model.copy(), GRADIENT_QUEUE);
        session.serve(synapseKey, new Counting(served));
        LOG.info("MNIST neuron: synapse {}, {} epochs of {} steps (batch {}), Adam {} with cosine decay, seed {}",
                synapseKey, config.epochs(), steps, config.batchSize(), rate, settings.seed());
    }

    public void setListener(StepListener listener) {
        this.listener = listener;
    }

    /** Hears each row written to the metrics log: the train phase's running figures, each test. */
    public interface PhaseListener {
        void onPhase(MetricsLog.Phase phase, double loss, double accuracy);
    }

    public void setPhaseListener(PhaseListener listener) {
        this.phaseListener = listener;
    }

    /** The synapse key this neuron is served under. */
    public String synapseKey() {
        return synapseKey;
    }

    public Path modelPath() {
        return modelPath;
    }

    /** Ends {@link #run} after the current step. */
    public void stop() {
        stopRequested = true;
    }

    /** Trains the remaining epochs (after a resumed checkpoint's), or until {@link #stop}. */
    public List<EpochSummary> run() throws IOException {
        List<EpochSummary> out = new java.util.ArrayList<>();
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

    /** One epoch: train on the training split, evaluate, log, save and re-serve if improved. */
    public EpochSummary runEpoch() throws IOException {
        int epoch = nextEpoch++;
        MnistSplit train = data.train();
        int n = train.size();
        int batch = config.batchSize();
        int steps = MnistTraining.stepsPerEpoch(n, batch);
        int[] order = MnistTraining.shuffled(n, rng);
        EpochProgress progress = EpochProgress.logging(epoch, steps);
        double lossSum = 0;
        long correct = 0;
        int examples = 0;
        double runLoss = Double.NaN;
        double runAcc = Double.NaN;
        long start = System.nanoTime();
        int step = 0;
        for (; step < steps && !stopRequested; step++) {
            applyPeerGradients();
            int from = step * batch;
            MnistSplit.Batch b = train.batch(order, from, Math.min(n, from + batch));
            MnistNetworkStep.Result r = network.train(model, b.images(), b.labels());
            MnistModel.StepResult s = r.step();
            // The classification loss with the network as context (the original's network_target_loss);
            // the total adds the distillation MSE, which jumps whenever a peer re-serves a new model.
            double loss = s.remoteLoss();
            lossSum += loss * s.count();
            correct += s.correct();
            examples += s.count();
            runLoss = Double.isNaN(runLoss) ? loss : 0.9 * runLoss + 0.1 * loss;
            runAcc = Double.isNaN(runAcc) ? s.accuracy() : 0.9 * runAcc + 0.1 * s.accuracy();
            progress.update(step + 1, runLoss, runAcc);
            SessionStats stats = session.stats();
            long global = (long) (epoch - 1) * steps + step + 1;
            if ((step + 1) % settings.logInterval() == 0 || step + 1 == steps) {
                append(MetricsLog.Phase.TRAIN, epoch, global, runLoss, runAcc, stats, session.remoteCalls().window());
            }
            if ((step + 1) % NETWORK_LOG_STEPS == 0) {
                logNetwork();
            }
            if (listener != null) {
                listener.onStep(epoch, step, s, r.answered(), stats);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        boolean stopped = step < steps;
        SessionStats stats = session.stats();
        if (stopped) {
            LOG.info("epoch {} stopped after {} of {} steps", epoch, step, steps);
            return new EpochSummary(epoch, step, examples == 0 ? Double.NaN : lossSum / examples,
                    examples == 0 ? Double.NaN : (double) correct / examples, Double.NaN, Double.NaN, seconds, stats, true);
        }
        MnistTraining.TestResult t = MnistTraining.evaluate(model, data.test(), settings.evalBatch(), System::nanoTime);
        append(MetricsLog.Phase.TEST, epoch, (long) epoch * steps, t.loss(), t.accuracy(), stats, stats.remoteSuccessRate());
        metrics.plot();
        LOG.info(String.format(Locale.ROOT,
                "epoch %d: test loss %.4f, accuracy %.2f %% (%d/%d); %.1f s, %.1f steps/s; peers %d, synapses %d,"
                        + " remote calls %d (%.1f %% ok), requests served %d",
                epoch, t.loss(), 100 * t.accuracy(), t.correct(), t.count(), seconds, step / seconds,
                stats.peersKnown(), stats.synapsesKnown(), stats.remoteCalls(), 100 * stats.remoteSuccessRate(),
                stats.requestsServed()));
        logNetwork();
        if (t.loss() < bestLoss) {
            bestLoss = t.loss();
            MnistCheckpoint.save(model, modelPath, epoch, t, settings.seed());
            serveSnapshot();
            LOG.info("Saved the best model so far to {} and serving it", modelPath);
        }
        return new EpochSummary(epoch, steps, lossSum / examples, (double) correct / examples, t.loss(), t.accuracy(),
                seconds, stats, false);
    }

    /** Peers' gradients on the served snapshot, averaged and applied to the live model in one step. */
    private void applyPeerGradients() {
        List<Map<String, INDArray>> queued = served.queue().drain();
        if (queued.isEmpty()) {
            return;
        }
        Map<String, INDArray> sum = new LinkedHashMap<>();
        for (Map<String, INDArray> g : queued) {
            g.forEach((k, v) -> sum.merge(k, v.dup(), INDArray::addi));
        }
        if (queued.size() > 1) {
            sum.values().forEach(v -> v.divi(queued.size()));
        }
        model.applyGradients(sum);
    }

    /** Serves a fresh copy of the model (the one it replaces is left to the GC: a call may still use it). */
    private void serveSnapshot() {
        served.serve(model.copy());
    }

    /** Counts the calls the Axon hands the served neuron, for the "network:" log line. */
    private final class Counting implements Neuron {
        private final Neuron inner;

        Counting(Neuron inner) {
            this.inner = inner;
        }

        @Override
        public INDArray forwardImage(INDArray images) {
            INDArray out = inner.forwardImage(images);
            servedForward.incrementAndGet();
            return out;
        }

        @Override
        public INDArray backward(Modality modality, INDArray inputs, INDArray gradOutputs) {
            INDArray d = inner.backward(modality, inputs, gradOutputs);
            servedBackward.incrementAndGet();
            return d;
        }
    }

    /** Who we called and how it went, and what we served: the evidence that Forward and Backward flow both ways. */
    private void logNetwork() {
        StringBuilder sb = new StringBuilder("network: served Forward ").append(servedForward.get())
                .append(", Backward ").append(servedBackward.get()).append(';');
        session.remoteCalls().byPeer().forEach((key, c) -> sb.append(' ')
                .append(key.equals(synapseKey) ? "self" : abbreviate(key))
                .append(String.format(Locale.ROOT, " Forward %d/%d ok, Backward %d/%d ok;", c.forwardOk(), c.forward(),
                        c.backwardOk(), c.backward())));
        LOG.info(sb.substring(0, sb.length() - 1));
    }

    private static String abbreviate(String synapseKey) {
        return synapseKey.length() > 14 ? synapseKey.substring(0, 10) + "…" + synapseKey.substring(synapseKey.length() - 4)
                : synapseKey;
    }

    private void append(MetricsLog.Phase phase, int epoch, long step, double loss, double accuracy, SessionStats s,
            double rate) {
        if (phaseListener != null) {
            phaseListener.onPhase(phase, loss, accuracy);
        }
        try {
            metrics.append(phase, epoch, step, loss, accuracy, s.peersKnown(), rate, s.requestsServed());
        } catch (IOException e) {
            LOG.warn("could not append to {}: {}", metrics.file(), e.toString()); // metrics must not stop training
        }
    }

    /**
     * Stops routing and Backward; closes the model. The session (owned by the caller) should be
     * closed first, so no peer is still calling the served snapshot.
     */
    @Override
    public void close() throws IOException {
        network.close();
        metrics.close();
        model.close();
    }
}
