package io.bittensor.examples.bert;

import io.bittensor.config.NeuronConfig;
import io.bittensor.neuron.Neuron;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ServedInput;
import io.bittensor.session.NeuronSession;
import io.bittensor.session.SessionStats;
import io.bittensor.training.EpochProgress;
import io.bittensor.training.MetricsLog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Adam;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The networked text neuron on a {@link NeuronSession}: serves a snapshot of its model (a
 * {@link BertNeuron}) and trains with the network's answer as context ({@link BertNetworkStep}),
 * applying peers' Backward gradients between its steps. Each epoch ({@code stepsPerEpoch} batches
 * of shuffled training sequences) ends with the masked-token loss on the validation sequences
 * (fixed masks), a metrics row, plots, and, when the loss is the best so far, a checkpoint at
 * {@code model_path} and a fresh served snapshot.
 *
 * <p>Threads: {@link #run} and {@link #runEpoch} belong to one training thread; {@link #stop}
 * may be called from any thread and ends the run after the current step.
 */
public final class BertTrainer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BertTrainer.class);
    /** Checkpoint file in datapath when --model_path is not given. */
    public static final String DEFAULT_MODEL_FILE = "bert-model.ckpt";
    /** Adam's rate unless --learning_rate says otherwise (the rate PyTorch was measured with). */
    public static final double DEFAULT_LEARNING_RATE = 1e-3;
    static final int GRADIENT_QUEUE = 16;

    /** Knobs beyond {@link NeuronConfig}. */
    public record Settings(BertConfig model, long seed, int stepsPerEpoch, int validationSequences, int topK,
            int logInterval) {
        public Settings {
            if (stepsPerEpoch < 1 || validationSequences < 1 || topK < 1 || logInterval < 1) {
                throw new IllegalArgumentException("steps, validation sequences, topk and log interval must be >= 1");
            }
        }
    }

    /** Called after every training step (tests, progress). */
    @FunctionalInterface
    public interface StepListener {
        void onStep(int epoch, int step, BertModel.StepResult result, int answered, SessionStats stats);
    }

    /** Hears each row written to the metrics log: the train phase's running figures, each validation. */
    @FunctionalInterface
    public interface PhaseListener {
        void onPhase(MetricsLog.Phase phase, double loss, double accuracy);
    }

    /** One epoch's figures. {@code validationLoss} is NaN for a stopped epoch. */
    public record EpochSummary(int epoch, int steps, double meanLoss, double validationLoss, double validationAccuracy,
            double seconds, boolean stopped) {}

    private final NeuronSession session;
    private final NeuronConfig config;
    private final Settings settings;
    private final Path modelPath;
    private final BertModel model;
    private final BertNetworkStep network;
    private final MlmMasking masking;
    private final List<int[]> train;
    private final List<BertModel.Batch> validation;
    private final BertNeuron served;
    private final String synapseKey;
    private final MetricsLog metrics;
    private final SplittableRandom rng;
    private final Random shuffler;
    private final AtomicLong servedForward = new AtomicLong();
    private final AtomicLong servedBackward = new AtomicLong();
    private StepListener listener;
    private volatile PhaseListener phaseListener;
    private int nextEpoch = 1;
    private double bestLoss = Double.POSITIVE_INFINITY;
    private int cursor;
    private long droppedNonFinite;
    private volatile boolean stopRequested;

    /**
     * Builds the model (resuming from {@code model_path} if it exists) and serves a snapshot of it
     * on the session (published when the session starts).
     *
     * @throws io.bittensor.training.CheckpointException if model_path exists but cannot be used
     */
    public BertTrainer(NeuronSession session, TextCorpus corpus, MlmMasking masking, Settings settings)
            throws IOException {
        this.session = session;
        this.config = session.config();
        this.settings = settings;
        this.masking = masking;
        this.modelPath = config.modelPath().orElse(config.datapath().resolve(DEFAULT_MODEL_FILE));
        int sequence = settings.model().sequence();
        this.train = new ArrayList<>(MlmMasking.sequences(corpus.train(), sequence));
        List<int[]> held = MlmMasking.sequences(corpus.validation(), sequence);
        if (train.size() < config.batchSize() || held.isEmpty()) {
            throw new CorpusException("the corpus holds " + train.size() + " training and " + held.size()
                    + " validation sequences of " + sequence + " tokens; it needs at least --batch_size ("
                    + config.batchSize() + ") and one");
        }
        held = held.subList(0, Math.min(held.size(), settings.validationSequences()));
        SplittableRandom fixed = new SplittableRandom(12345); // every evaluation scores the same masks
        List<BertModel.Batch> val = new ArrayList<>();
        for (int i = 0; i < held.size(); i += config.batchSize()) {
            val.add(masking.mask(held.subList(i, Math.min(held.size(), i + config.batchSize())), fixed));
        }
        this.validation = List.copyOf(val);
        double rate = config.learningRateOr(DEFAULT_LEARNING_RATE);
        this.model = new BertModel(settings.model(), settings.seed(), new Adam(rate));
        try {
            if (Files.exists(modelPath)) {
                Map<String, String> meta = model.restoreCheckpoint(modelPath);
                nextEpoch = Integer.parseInt(meta.getOrDefault("epoch", "0")) + 1;
                bestLoss = Double.parseDouble(meta.getOrDefault("validation_loss", "Infinity"));
                LOG.info("Resumed from {} (epoch {}, validation loss {})", modelPath, nextEpoch - 1, bestLoss);
            }
            this.metrics = MetricsLog.open(config.logdir());
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
        this.rng = new SplittableRandom(settings.seed() + nextEpoch);
        this.shuffler = new Random(settings.seed() + nextEpoch);
        this.cursor = train.size();
        this.network = new BertNetworkStep(session, settings.model().hidden(), settings.seed(), settings.topK());
        this.synapseKey = session.keypair().synapseKey("bert");
        this.served = new BertNeuron(model.copy(), GRADIENT_QUEUE);
        session.serve(synapseKey, new Counting(served));
        LOG.info("BERT neuron: synapse {}; model {}; {} training sequences, {} validation; {} epochs of {} steps"
                        + " (batch {}), Adam {}, seed {}", synapseKey, settings.model().describe(), train.size(),
                held.size(), config.epochs(), settings.stepsPerEpoch(), config.batchSize(), rate, settings.seed());
    }

    public void setListener(StepListener listener) {
        this.listener = listener;
    }

    /** Called with each metrics row from now on (e.g. Prometheus gauges); null for none. */
    public void setPhaseListener(PhaseListener listener) {
        this.phaseListener = listener;
    }

    public String synapseKey() {
        return synapseKey;
    }

    public Path modelPath() {
        return modelPath;
    }

    /** Forward calls peers made on this neuron so far. */
    public long servedForward() {
        return servedForward.get();
    }

    /** Backward calls peers made on this neuron so far. */
    public long servedBackward() {
        return servedBackward.get();
    }

    /** Ends {@link #run} after the current step. */
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

    /** One epoch: train, evaluate on the validation masks, log, save and re-serve if improved. */
    public EpochSummary runEpoch() throws IOException {
        int epoch = nextEpoch++;
        int steps = settings.stepsPerEpoch();
        int batch = config.batchSize();
        EpochProgress progress = EpochProgress.logging(epoch, steps);
        double lossSum = 0;
        double runLoss = Double.NaN;
        double runAcc = Double.NaN;
        long start = System.nanoTime();
        int step = 0;
        for (; step < steps && !stopRequested; step++) {
            applyPeerGradients();
            if (cursor + batch > train.size()) {
                Collections.shuffle(train, shuffler);
                cursor = 0;
            }
            BertModel.Batch b = masking.mask(train.subList(cursor, cursor + batch), rng);
            cursor += batch;
            BertNetworkStep.Result r = network.train(model, b);
            BertModel.StepResult s = r.step();
            // The masked-token loss with the network as context (the original's network_target_loss).
            double loss = s.remoteLoss();
            double acc = (double) s.correct() / s.masked();
            lossSum += loss;
            runLoss = Double.isNaN(runLoss) ? loss : 0.9 * runLoss + 0.1 * loss;
            runAcc = Double.isNaN(runAcc) ? acc : 0.9 * runAcc + 0.1 * acc;
            progress.update(step + 1, runLoss, runAcc);
            SessionStats stats = session.stats();
            if ((step + 1) % settings.logInterval() == 0 || step + 1 == steps) {
                append(MetricsLog.Phase.TRAIN, epoch, (long) (epoch - 1) * steps + step + 1, runLoss, runAcc, stats,
                        session.remoteCalls().window());
            }
            if (listener != null) {
                listener.onStep(epoch, step, s, r.answered(), stats);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (step < steps) {
            LOG.info("epoch {} stopped after {} of {} steps", epoch, step, steps);
            return new EpochSummary(epoch, step, step == 0 ? Double.NaN : lossSum / step, Double.NaN, Double.NaN,
                    seconds, true);
        }
        double[] v = validate();
        SessionStats stats = session.stats();
        append(MetricsLog.Phase.TEST, epoch, (long) epoch * steps, v[0], v[1], stats, stats.remoteSuccessRate());
        metrics.plot();
        LOG.info(String.format(Locale.ROOT,
                "epoch %d: validation loss %.4f nats per masked token (perplexity %.1f), top-1 %.2f %%; %.1f s,"
                        + " %.0f tokens/s; peers %d, remote calls %d (%.1f %% ok), requests served %d",
                epoch, v[0], Math.exp(v[0]), 100 * v[1], seconds,
                steps * (double) batch * settings.model().sequence() / seconds, stats.peersKnown(),
                stats.remoteCalls(), 100 * stats.remoteSuccessRate(), stats.requestsServed()));
        LOG.info("network: served Forward {}, Backward {}; peers' gradients queued {}, dropped {} (queue full),"
                        + " skipped {} (not finite)", servedForward.get(), servedBackward.get(),
                served.queue().offered(), served.queue().dropped(), droppedNonFinite);
        if (v[0] < bestLoss) {
            bestLoss = v[0];
            model.saveCheckpoint(modelPath, Map.of("epoch", Integer.toString(epoch),
                    "validation_loss", Double.toString(v[0]), "seed", Long.toString(settings.seed())));
            served.serve(model.copy());
            LOG.info("Saved the best model so far to {} and serving it", modelPath);
        }
        return new EpochSummary(epoch, steps, lossSum / steps, v[0], v[1], seconds, false);
    }

    /** Mean masked-token loss and top-1 accuracy (local head) on the validation batches. */
    private double[] validate() {
        double sum = 0;
        long correct = 0;
        long masked = 0;
        for (BertModel.Batch b : validation) {
            BertModel.Evaluation e = model.evaluate(b);
            sum += e.loss() * e.masked();
            correct += e.correct();
            masked += e.masked();
        }
        return new double[] {sum / masked, (double) correct / masked};
    }

    /** Peers' gradients on the served snapshot, averaged and applied to the live model in one step. */
    private void applyPeerGradients() {
        List<Map<String, INDArray>> queued = served.drainGradients();
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
        // A sum is non-finite when any entry is: one pass per array, and a poisoned step is skipped.
        if (!sum.values().stream().allMatch(v -> Double.isFinite(v.sumNumber().doubleValue()))) {
            droppedNonFinite++;
            LOG.debug("peers' gradients with NaN or infinity dropped ({} so far)", droppedNonFinite);
            return;
        }
        model.applyGradients(sum);
    }

    /** Counts the calls the Axon hands the served neuron. */
    private final class Counting implements Neuron {
        private final Neuron inner;

        Counting(Neuron inner) {
            this.inner = inner;
        }

        @Override
        public List<ServedInput> serves() {
            return inner.serves();
        }

        @Override
        public INDArray forwardText(INDArray tokens) {
            INDArray out = inner.forwardText(tokens);
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

    private void append(MetricsLog.Phase phase, int epoch, long step, double loss, double accuracy, SessionStats s,
            double rate) {
        try {
            metrics.append(phase, epoch, step, loss, accuracy, s.peersKnown(), rate, s.requestsServed());
        } catch (IOException e) {
            LOG.warn("could not append to {}: {}", metrics.file(), e.toString()); // metrics must not stop training
        }
        PhaseListener l = phaseListener;
        if (l != null) {
            l.onPhase(phase, loss, accuracy);
        }
    }

    /** Stops routing and Backward; closes the model. Close the session first. */
    @Override
    public void close() throws IOException {
        network.close();
        metrics.close();
        model.close();
    }
}
