package io.bittensor.examples.mnist;

import io.bittensor.neuron.ServedInputs;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ServedInput;
import io.bittensor.runtime.Batch;
import io.bittensor.runtime.ContextSnapshot;
import io.bittensor.runtime.Evaluation;
import io.bittensor.runtime.NeuronModel;
import io.bittensor.runtime.NeuronSpec;
import io.bittensor.runtime.ParameterUpdaters;
import io.bittensor.runtime.ServedBackward;
import io.bittensor.runtime.StepResult;
import io.bittensor.training.CosineDecaySchedule;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * The MNIST neuron's model, after the original's MNIST synapse. Its arithmetic, forward and
 * backward, is {@link MnistEngine}'s (libnd4j ops, no SameDiff graph).
 *
 * <pre>
 * images [b,1,28,28] in [0,1] ─ normalize ─ conv 5×5 (10) ─ maxpool 2 ─ relu
 *   ─ conv 5×5 (20) ─ channel dropout (mask) ─ maxpool 2 ─ relu ─ flatten ─▶ transform [b,320]
 * student:  stop(transform) ─ 320→256 relu ─ 256→512 relu ─▶ student [b,512]
 * hidden:   (transform ⊕ context[512]) ─ 832→50 relu ─ 50→10 ─▶ logits; loss = NLL(log_softmax)
 *   local head:  context = stop(student)            → local_loss   (always)
 *   remote head: context = network (placeholder)    → remote_loss  (with the network)
 *   distill:     MSE(student, stop(network))        → distill_loss (with the network)
 * </pre>
 *
 * <p>Unlike the original there is no ReLU on the logits: a ReLU before the softmax can pin a class's
 * logit at zero for every input, and the original then never learns that class (its accuracy after
 * one epoch ranges 40–97 % with the seed).
 *
 * <p>Two training steps: {@link #trainLocal} (alone; the student and remote head are idle) and
 * {@link #trainWithNetwork}, which takes the router's combined peer output {@code [b,512]} and
 * returns d loss / d network output, for the Dendrite's Backward. Peers are served the
 * {@link #forwardImage local output}: as in the original, the transform, zero-padded to 512.
 *
 * <p>Threads: the training thread owns the model it trains; serve a {@link #copy()}. On a copy that
 * nobody trains, {@link #forwardImage} may run on many threads at once (inference allocates its
 * own arrays) and {@link #backwardImage} with them (gradient passes are serialized on the model,
 * whose engine reuses its buffers). Training steps and {@link #applyGradients} change parameters
 * in place and must not overlap other calls on the same instance.
 */
public final class MnistModel implements NeuronModel {
    public static final int TRANSFORM_DIM = 320;
    public static final int NETWORK_DIM = 512;
    public static final int STUDENT_HIDDEN = 256;
    public static final int HIDDEN = 50;
    public static final int CLASSES = 10;
    /** Channels after the second conv: the dropout mask zeroes whole channels, like nn.Dropout2d. */
    static final int CONV2_CHANNELS = 20;

    /** The parameters of the transform (the conv layers): all that a served Backward or the router context reads. */
    private static final List<String> CONV_PARAMETERS = List.of("conv1_w", "conv1_b", "conv2_w", "conv2_b");

    /** Idle inference scratch sets kept per model: the router context (routing thread) and a served Forward. */
    private static final int INFERENCE_SCRATCH_SETS = 2;

    /** Identifies this architecture in checkpoints. */
    static final String MODEL_ID = "bittensor-mnist-v1";
    /** The neuron's name: its synapse key ends in {@code /mnist}. */
    public static final String NAME = "mnist";
    /** Checkpoint file in datapath when --model_path is not given. */
    public static final String DEFAULT_MODEL_FILE = "mnist-model.ckpt";

    private final Options options;
    /** The parameters by name, in a fixed order (the checkpoint's names; the engine reads them live). */
    private final Map<String, INDArray> params;
    private final List<String> parameterNames;
    private final ParameterUpdaters updaters;
    private final MnistEngine engine;
    /** The engine's gradient buffers a local step trains: all but the student's (its output is a stopped context there). */
    private final Map<String, INDArray> localGradients;
    /** Inference scratch for the router context and served Forwards (up to two threads' worth idle). */
    private final MnistEngine.ScratchPool inferenceScratch = new MnistEngine.ScratchPool(INFERENCE_SCRATCH_SETS);
    private final SplittableRandom dropoutRng;

    /** Adam's starting rate (tuned: ≥ 98 % test accuracy after one epoch for every seed tried). */
    public static final double DEFAULT_LEARNING_RATE = 0.005;
    /** The rate decays along a cosine to this fraction of the start over the planned run. */
    public static final double DEFAULT_DECAY_FLOOR = 0.05;
    /** Conv2 channel dropout; the original's 0.5 costs ~0.4 points after one epoch. */
    public static final double DEFAULT_DROPOUT = 0.25;

    /** Model knobs. dropout = probability of zeroing a conv2 channel while training (original: 0.5). */
    public record Options(long seed, double dropout, IUpdater updater) {
        public Options {
            Objects.requireNonNull(updater, "updater");
            if (!(dropout >= 0 && dropout < 1)) {
                throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
            }
        }

        /**
         * The tuned defaults: Adam from {@code learningRate}, cosine-decayed to
         * {@link #DEFAULT_DECAY_FLOOR} of it over {@code plannedSteps}, dropout {@link #DEFAULT_DROPOUT}.
         */
        public static Options defaults(long seed, double learningRate, int plannedSteps) {
            return new Options(seed, DEFAULT_DROPOUT,
                    new Adam(new CosineDecaySchedule(learningRate, DEFAULT_DECAY_FLOOR, Math.max(1, plannedSteps))));
        }
    }

    /** The MNIST neuron for the runtime: this model with its tuned defaults ({@link Options#defaults}). */
    public static NeuronSpec<MnistModel> spec() {
        return new NeuronSpec<>(NAME, DEFAULT_LEARNING_RATE, DEFAULT_MODEL_FILE,
                (seed, rate, steps) -> new MnistModel(Options.defaults(seed, rate, steps)));
    }

    public MnistModel(Options options) {
        this.options = options;
        this.params = Collections.unmodifiableMap(initialParameters(new SplittableRandom(options.seed())));
        this.parameterNames = List.copyOf(params.keySet());
        this.dropoutRng = new SplittableRandom(options.seed() ^ 0x5DEECE66DL);
        this.updaters = new ParameterUpdaters(options.updater(), parameterNames, params::get);
        this.engine = new MnistEngine(params);
        Map<String, INDArray> local = new LinkedHashMap<>(engine.gradients());
        local.keySet().removeIf(n -> n.startsWith("student"));
        this.localGradients = Collections.unmodifiableMap(local);
    }

    public Options options() {
        return options;
    }

    /** MNIST digits, one channel of 28 × 28: what routers may send us. */
    @Override
    public List<ServedInput> serves() {
        return List.of(ServedInputs.image(1, MnistSplit.ROWS, MnistSplit.COLS));
    }

    @Override
    public Modality modality() {
        return Modality.IMAGE;
    }

    @Override
    public String modelId() {
        return MODEL_ID;
    }

    @Override
    public int contextDim() {
        return TRANSFORM_DIM;
    }

    /** The transform of a training batch's images {@code [b,1,28,28]}: {@code [b,320]}. */
    @Override
    public INDArray routerContext(INDArray images) {
        return transform(images);
    }

    /**
     * The transform as of now, for the routing thread: copies of the conv parameters (5 280
     * floats) that the training thread's updates do not touch.
     */
    @Override
    public ContextSnapshot contextSnapshot() {
        Map<String, INDArray> conv = new LinkedHashMap<>();
        for (String name : CONV_PARAMETERS) {
            conv.put(name, params.get(name).dup());
        }
        return new ContextSnapshot() {
            @Override
            public INDArray compute(INDArray images) {
                return MnistEngine.inferTransform(conv, images, inferenceScratch);
            }

            @Override
            public void close() {
                conv.values().forEach(INDArray::close);
            }
        };
    }

    /** Images {@code [b,1,28,28]} as peers get them: {@code [b,1,1,28,28]}. */
    @Override
    public INDArray remoteInputs(INDArray images) {
        return images.reshape('c', images.size(0), 1, 1, MnistSplit.ROWS, MnistSplit.COLS);
    }

    @Override
    public StepResult trainLocal(Batch batch) {
        return trainLocal(batch.inputs(), batch.labels());
    }

    @Override
    public StepResult trainWithNetwork(Batch batch, INDArray network) {
        return trainWithNetwork(batch.inputs(), batch.labels(), network);
    }

    @Override
    public Evaluation evaluate(Batch batch) {
        return evaluate(batch.inputs(), batch.labels());
    }

    @Override
    public INDArray forward(INDArray images) {
        return forwardImage(images);
    }

    @Override
    public ServedBackward backward(INDArray images, INDArray gradOutputs) {
        return backwardImage(images, gradOutputs);
    }

    /** The layers' weights and biases, initialised as PyTorch's Conv2d/Linear defaults. */
    private static Map<String, INDArray> initialParameters(SplittableRandom rng) {
        Map<String, INDArray> p = new LinkedHashMap<>();
        param(p, rng, "conv1_w", 25, 5, 5, 1, 10);            // [kH, kW, in, out]
        param(p, rng, "conv1_b", 25, 10);
        param(p, rng, "conv2_w", 250, 5, 5, 10, CONV2_CHANNELS);
        param(p, rng, "conv2_b", 250, CONV2_CHANNELS);
        linear(p, rng, "student1", TRANSFORM_DIM, STUDENT_HIDDEN);
        linear(p, rng, "student2", STUDENT_HIDDEN, NETWORK_DIM);
        // One hidden net on (transform ⊕ context), shared by the local and remote heads.
        linear(p, rng, "hidden1", TRANSFORM_DIM + NETWORK_DIM, HIDDEN);
        linear(p, rng, "hidden2", HIDDEN, CLASSES);
        return p;
    }

    private static void linear(Map<String, INDArray> p, SplittableRandom rng, String name, int in, int out) {
        param(p, rng, name + "_w", in, in, out);
        param(p, rng, name + "_b", in, out);
    }

    /** A parameter drawn from U(±1/√fan_in), as PyTorch initialises weights and biases. */
    private static void param(Map<String, INDArray> p, SplittableRandom rng, String name, int fanIn, long... shape) {
        long n = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        float bound = (float) (1.0 / Math.sqrt(fanIn));
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        }
        p.put(name, Nd4j.create(v, shape, DataType.FLOAT));
    }

    /** Trainable variables' names, in a fixed order. */
    public List<String> parameterNames() {
        return parameterNames;
    }

    /** Copies of the current parameter values. */
    @Override
    public Map<String, INDArray> parameters() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (String name : parameterNames) {
            out.put(name, params.get(name).dup());
        }
        return out;
    }

    /**
     * Overwrites the parameters (for example from a checkpoint).
     *
     * @throws IllegalArgumentException naming the first missing or mis-shaped parameter
     */
    @Override
    public void setParameters(Map<String, INDArray> values) {
        for (String name : parameterNames) {
            INDArray v = values.get(name);
            INDArray p = params.get(name);
            if (v == null) {
                throw new IllegalArgumentException("parameter " + name + " is missing");
            }
            if (!Arrays.equals(v.shape(), p.shape())) {
                throw new IllegalArgumentException("parameter " + name + " has shape " + Arrays.toString(v.shape())
                        + ", expected " + Arrays.toString(p.shape()));
            }
        }
        for (String name : parameterNames) {
            params.get(name).assign(values.get(name).castTo(DataType.FLOAT));
        }
    }

    /** The optimizer's state (for checkpoints), keyed "parameter/stateName". */
    @Override
    public Map<String, INDArray> optimizerState() {
        return updaters.state();
    }

    /** Restores {@link #optimizerState()}; entries that do not fit are ignored (the optimizer restarts). */
    @Override
    public void setOptimizerState(Map<String, INDArray> state, int iteration) {
        updaters.setState(state, iteration);
    }

    /** Optimizer steps taken so far. */
    @Override
    public int iteration() {
        return updaters.iteration();
    }

    /** One step alone: local loss only. */
    public synchronized StepResult trainLocal(INDArray images, INDArray labels) {
        INDArray oneHot = labels.castTo(DataType.FLOAT);
        MnistEngine.Losses l = engine.trainLocal(images, oneHot, dropoutMask(images.size(0)));
        updaters.applyConsuming(localGradients);
        return new StepResult(l.total(), l.local(), Double.NaN, Double.NaN,
                correct(engine.localLogits(), oneHot), (int) images.size(0), null);
    }

    /**
     * One step with the network's answer: loss = local + remote + distillation.
     *
     * @param network the router's combined peer output for these images, {@code [b,512]}
     *                (or {@code [b,1,512]}); zeros where no peer answered
     * @return the losses, and d loss / d network ({@code [b,512]}) to send back to the peers
     */
    public synchronized StepResult trainWithNetwork(INDArray images, INDArray labels, INDArray network) {
        INDArray oneHot = labels.castTo(DataType.FLOAT);
        INDArray net = network2d(network, images.size(0));
        MnistEngine.Losses l = engine.trainNetwork(images, oneHot, dropoutMask(images.size(0)), net);
        // A copy: the peers' Backward reads it on another thread, after the next step reused the buffer.
        INDArray networkGrad = engine.networkGradient().dup();
        int correct = correct(engine.remoteLogits(), oneHot);
        updaters.applyConsuming(engine.gradients());
        return new StepResult(l.total(), l.local(), l.remote(), l.distill(), correct, (int) images.size(0), networkGrad);
    }

    /**
     * Applies parameter gradients with this model's optimizer (one step). Used by the training
     * steps, and for gradients that peers' Backward calls produced on a served copy.
     * Unknown names are ignored.
     */
    @Override
    public synchronized void applyGradients(Map<String, INDArray> grads) {
        updaters.apply(grads);
    }

    /** The transform {@code [b,320]} of images {@code [b,1,28,28]}, without dropout (the router's input). */
    public INDArray transform(INDArray images) {
        return MnistEngine.inferTransform(params, images, inferenceScratch);
    }

    /** Class logits {@code [b,10]} of the local (student-context) head, without dropout. */
    public INDArray predict(INDArray images) {
        INDArray t = transform(images);
        try (INDArray student = MnistEngine.inferStudent(params, t)) {
            return MnistEngine.inferLogits(params, t, student);
        } finally {
            t.close();
        }
    }

    /** Local-head loss and number correct on a labelled batch, without dropout. */
    public Evaluation evaluate(INDArray images, INDArray labels) {
        try (INDArray logits = predict(images)) {
            return evaluation(logits, labels);
        }
    }

    /**
     * Remote-head loss and number correct with the given network output as context, without
     * dropout and without training (how well the network's answer serves this model).
     */
    public Evaluation evaluateWithNetwork(INDArray images, INDArray labels, INDArray network) {
        INDArray net = network2d(network, images.size(0));
        try (INDArray t = transform(images); INDArray logits = MnistEngine.inferLogits(params, t, net)) {
            return evaluation(logits, labels);
        }
    }

    private static Evaluation evaluation(INDArray logits, INDArray labels) {
        INDArray oneHot = labels.castTo(DataType.FLOAT);
        return new Evaluation(MnistEngine.crossEntropy(logits, oneHot), correct(logits, oneHot), (int) logits.size(0));
    }

    /**
     * What peers get from Forward: images {@code [b, seq, 1, 28, 28]} → {@code [b, seq, 512]}, the
     * transform (no dropout) zero-padded to 512 as the original's {@code student_output}.
     */
    public INDArray forwardImage(INDArray images) {
        long[] s = checkImages(images);
        INDArray t = transform(images.reshape('c', s[0] * s[1], 1, MnistSplit.ROWS, MnistSplit.COLS));
        INDArray out = Nd4j.zeros(DataType.FLOAT, s[0] * s[1], NETWORK_DIM);
        out.get(NDArrayIndex.all(), NDArrayIndex.interval(0, TRANSFORM_DIM)).assign(t);
        t.close();
        return out.reshape('c', s[0], s[1], NETWORK_DIM);
    }

    /**
     * Backward for a peer: the gradients of {@code sum(gradOutput ⊙ forwardImage(images))} with
     * respect to the images ({@code [b, seq, 1, 28, 28]}) and to this model's parameters.
     */
    public synchronized ServedBackward backwardImage(INDArray images, INDArray gradOutput) {
        long[] s = checkImages(images);
        long n = s[0] * s[1];
        if (!Arrays.equals(gradOutput.shape(), new long[] {s[0], s[1], NETWORK_DIM})) {
            throw new IllegalArgumentException("gradOutput has shape " + Arrays.toString(gradOutput.shape())
                    + ", expected [" + s[0] + ", " + s[1] + ", " + NETWORK_DIM + "]");
        }
        INDArray gradTransform = gradOutput.reshape('c', n, NETWORK_DIM)
                .get(NDArrayIndex.all(), NDArrayIndex.interval(0, TRANSFORM_DIM)).castTo(DataType.FLOAT);
        INDArray dImages = engine.servedBackward(images.reshape('c', n, 1, MnistSplit.ROWS, MnistSplit.COLS), gradTransform);
        // Copies: the parameter gradients wait in a queue, and the next call reuses the engine's buffers.
        Map<String, INDArray> g = new LinkedHashMap<>();
        for (String p : CONV_PARAMETERS) {
            g.put(p, engine.gradients().get(p).dup());
        }
        return new ServedBackward(dImages.dup().reshape('c', s[0], s[1], 1, MnistSplit.ROWS, MnistSplit.COLS), g);
    }

    /** A fresh model with the same options and a copy of the current parameters (fresh optimizer). */
    @Override
    public MnistModel copy() {
        MnistModel m = new MnistModel(options);
        m.setParameters(parameters());
        return m;
    }

    /** Frees the native memory of parameters and optimizer state now rather than at GC. */
    @Override
    public void close() {
        for (String name : parameterNames) {
            INDArray p = params.get(name);
            if (p != null && p.closeable()) {
                p.close();
            }
        }
        updaters.close();
        engine.close();
        inferenceScratch.close();
    }

    private static long[] checkImages(INDArray images) {
        long[] s = images.shape();
        if (s.length != 5 || s[0] < 1 || s[1] < 1 || s[2] != 1 || s[3] != MnistSplit.ROWS || s[4] != MnistSplit.COLS) {
            throw new IllegalArgumentException("images must be [batch, seq, 1, 28, 28], got " + Arrays.toString(s));
        }
        return s;
    }

    /**
     * Inverted channel dropout, {@code [b,20]}: kept channels scaled by 1/(1-p) so inference needs
     * no rescaling; null when dropout is off.
     */
    private INDArray dropoutMask(long batch) {
        if (options.dropout() == 0) {
            return null;
        }
        float[] m = new float[Math.toIntExact(batch * CONV2_CHANNELS)];
        double p = options.dropout();
        float keep = (float) (1.0 / (1.0 - p));
        for (int i = 0; i < m.length; i++) {
            m[i] = dropoutRng.nextDouble() < p ? 0f : keep;
        }
        return Nd4j.create(m, new long[] {batch, CONV2_CHANNELS}, DataType.FLOAT);
    }

    private static INDArray network2d(INDArray network, long batch) {
        INDArray n = network.rank() == 3 && network.size(1) == 1 ? network.reshape(network.size(0), network.size(2)) : network;
        if (n.rank() != 2 || n.size(0) != batch || n.size(1) != NETWORK_DIM) {
            throw new IllegalArgumentException("network output must be [" + batch + ", 512] or [" + batch
                    + ", 1, 512], got " + Arrays.toString(network.shape()));
        }
        return n.castTo(DataType.FLOAT);
    }

    private static int correct(INDArray logits, INDArray oneHot) {
        INDArray predicted = logits.argMax(1);
        INDArray actual = oneHot.argMax(1);
        return predicted.eq(actual).castTo(DataType.INT).sumNumber().intValue();
    }
}
