package io.bittensor.examples.mnist;

import io.bittensor.neuron.ServedInputs;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ServedInput;
import io.bittensor.runtime.Batch;
import io.bittensor.runtime.Evaluation;
import io.bittensor.runtime.NeuronModel;
import io.bittensor.runtime.NeuronSpec;
import io.bittensor.runtime.ParameterUpdaters;
import io.bittensor.runtime.ServedBackward;
import io.bittensor.runtime.StepResult;
import io.bittensor.tensor.CachedGradients;
import io.bittensor.training.CosineDecaySchedule;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import org.nd4j.autodiff.loss.LossReduce;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.api.OutAndGrad;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * The MNIST neuron's model, after the original's MNIST synapse, as one SameDiff graph.
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
 * nobody trains, {@link #forwardImage} may run on many threads at once (SameDiff keeps one
 * inference session per thread) and {@link #backwardImage} with them (gradient calls are
 * serialized on the model). Training steps and {@link #applyGradients} change parameters in place
 * and must not overlap other calls on the same instance.
 */
public final class MnistModel implements NeuronModel {
    public static final int TRANSFORM_DIM = 320;
    public static final int NETWORK_DIM = 512;
    public static final int STUDENT_HIDDEN = 256;
    public static final int HIDDEN = 50;
    public static final int CLASSES = 10;
    /** Channels after the second conv: the dropout mask zeroes whole channels, like nn.Dropout2d. */
    static final int CONV2_CHANNELS = 20;

    // MNIST pixel mean and standard deviation, as the original's Normalize((0.1307,), (0.3081,)).
    private static final double MEAN = 0.1307;
    private static final double STD = 0.3081;

    // Placeholder and output names.
    static final String IMAGES = "images";
    static final String LABELS = "labels";
    static final String MASK = "dropout_mask";
    static final String NETWORK = "network";
    static final String SERVED_GRAD = "served_grad";
    static final String TRANSFORM = "transform";
    static final String STUDENT = "student";
    static final String LOCAL_LOGITS = "local_logits";
    static final String REMOTE_LOGITS = "remote_logits";
    static final String LOCAL_LOSS = "local_loss";
    static final String REMOTE_LOSS = "remote_loss";
    static final String DISTILL_LOSS = "distill_loss";
    static final String TOTAL_LOSS = "total_loss";
    static final String SERVED_LOSS = "served_loss";

    /** Which loss the graph's gradient function currently differentiates. */
    private enum Mode { LOCAL, NETWORK, SERVED }

    /** Identifies this architecture in checkpoints. */
    static final String MODEL_ID = "bittensor-mnist-v1";
    /** The neuron's name: its synapse key ends in {@code /mnist}. */
    public static final String NAME = "mnist";
    /** Checkpoint file in datapath when --model_path is not given. */
    public static final String DEFAULT_MODEL_FILE = "mnist-model.ckpt";

    private final Options options;
    private final SameDiff sd;
    private final List<String> parameterNames;
    private final List<String> localParameters;
    private final ParameterUpdaters updaters;
    private final SplittableRandom dropoutRng;
    private Mode mode;

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
        this.sd = SameDiff.create();
        this.parameterNames = Collections.unmodifiableList(build(sd, new SplittableRandom(options.seed())));
        this.localParameters = parameterNames.stream().filter(n -> !n.startsWith("student")).toList();
        this.dropoutRng = new SplittableRandom(options.seed() ^ 0x5DEECE66DL);
        this.updaters = new ParameterUpdaters(options.updater(), parameterNames, sd::getArrForVarName);
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

    /** Builds the graph; returns the trainable variables' names. */
    private static List<String> build(SameDiff sd, SplittableRandom rng) {
        List<String> params = new ArrayList<>();
        SDVariable images = sd.placeHolder(IMAGES, DataType.FLOAT, -1, 1, MnistSplit.ROWS, MnistSplit.COLS);
        SDVariable labels = sd.placeHolder(LABELS, DataType.FLOAT, -1, CLASSES);
        SDVariable mask = sd.placeHolder(MASK, DataType.FLOAT, -1, CONV2_CHANNELS, 1, 1);
        SDVariable network = sd.placeHolder(NETWORK, DataType.FLOAT, -1, NETWORK_DIM);
        SDVariable servedGrad = sd.placeHolder(SERVED_GRAD, DataType.FLOAT, -1, TRANSFORM_DIM);

        Conv2DConfig conv = Conv2DConfig.builder().kH(5).kW(5).dataFormat("NCHW").build();
        Pooling2DConfig pool = Pooling2DConfig.builder().kH(2).kW(2).sH(2).sW(2).isNHWC(false).build();

        SDVariable x = images.sub(MEAN).div(STD);
        SDVariable c1 = sd.cnn.conv2d(x, param(sd, rng, params, "conv1_w", 25, 5, 5, 1, 10),
                param(sd, rng, params, "conv1_b", 25, 10), conv);
        SDVariable h = sd.nn.relu(sd.cnn.maxPooling2d(c1, pool), 0);
        SDVariable c2 = sd.cnn.conv2d(h, param(sd, rng, params, "conv2_w", 250, 5, 5, 10, CONV2_CHANNELS),
                param(sd, rng, params, "conv2_b", 250, CONV2_CHANNELS), conv);
        h = sd.nn.relu(sd.cnn.maxPooling2d(c2.mul(mask), pool), 0);
        SDVariable transform = sd.reshape(TRANSFORM, h, -1, TRANSFORM_DIM);

        // The student learns to predict the network from the transform; it must not shape the transform.
        SDVariable s = linear(sd, rng, params, "student1", stop(sd, transform), TRANSFORM_DIM, STUDENT_HIDDEN);
        s = linear(sd, rng, params, "student2", sd.nn.relu(s, 0), STUDENT_HIDDEN, NETWORK_DIM);
        SDVariable student = sd.nn.relu(STUDENT, s, 0);

        // One hidden net, applied to two contexts (shared weights).
        int in = TRANSFORM_DIM + NETWORK_DIM;
        SDVariable h1w = param(sd, rng, params, "hidden1_w", in, in, HIDDEN);
        SDVariable h1b = param(sd, rng, params, "hidden1_b", in, HIDDEN);
        SDVariable h2w = param(sd, rng, params, "hidden2_w", HIDDEN, HIDDEN, CLASSES);
        SDVariable h2b = param(sd, rng, params, "hidden2_b", HIDDEN, CLASSES);
        SDVariable localLogits = affine(sd.nn.relu(affine(sd.concat(1, transform, stop(sd, student)), h1w, h1b), 0), h2w, h2b)
                .rename(LOCAL_LOGITS);
        SDVariable remoteLogits = affine(sd.nn.relu(affine(sd.concat(1, transform, network), h1w, h1b), 0), h2w, h2b)
                .rename(REMOTE_LOGITS);

        // softmax cross-entropy on logits = NLL on log_softmax, in one fused op.
        SDVariable localLoss = sd.loss.softmaxCrossEntropy(LOCAL_LOSS, labels, localLogits, null,
                LossReduce.MEAN_BY_NONZERO_WEIGHT_COUNT, 0.0);
        SDVariable remoteLoss = sd.loss.softmaxCrossEntropy(REMOTE_LOSS, labels, remoteLogits, null,
                LossReduce.MEAN_BY_NONZERO_WEIGHT_COUNT, 0.0);
        // Mean over all elements, as torch's F.mse_loss.
        SDVariable distillLoss = sd.loss.meanSquaredError(DISTILL_LOSS, stop(sd, network), student, null,
                LossReduce.MEAN_BY_NONZERO_WEIGHT_COUNT);
        localLoss.add(remoteLoss).add(TOTAL_LOSS, distillLoss);

        // For serving: d sum(G ⊙ transform) gives the caller's Backward (the padding carries no gradient).
        transform.mul(servedGrad).sum(SERVED_LOSS);
        return params;
    }

    private static SDVariable stop(SameDiff sd, SDVariable v) {
        return new StopGradient(sd, v).outputVariable();
    }

    private static SDVariable linear(SameDiff sd, SplittableRandom rng, List<String> params, String name,
            SDVariable x, int in, int out) {
        return affine(x, param(sd, rng, params, name + "_w", in, in, out), param(sd, rng, params, name + "_b", in, out));
    }

    /** x·W + b as mmul and add: M2.1's fused xw_plus_b gets its weight gradient wrong. */
    private static SDVariable affine(SDVariable x, SDVariable w, SDVariable b) {
        return x.mmul(w).add(b);
    }

    /** A variable initialised as PyTorch's Conv2d/Linear defaults: U(±1/√fan_in), weights and biases. */
    private static SDVariable param(SameDiff sd, SplittableRandom rng, List<String> params, String name,
            int fanIn, long... shape) {
        long n = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        float bound = (float) (1.0 / Math.sqrt(fanIn));
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        }
        params.add(name);
        return sd.var(name, Nd4j.create(v, shape, DataType.FLOAT));
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
            out.put(name, sd.getArrForVarName(name).dup());
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
            INDArray p = sd.getArrForVarName(name);
            if (v == null) {
                throw new IllegalArgumentException("parameter " + name + " is missing");
            }
            if (!Arrays.equals(v.shape(), p.shape())) {
                throw new IllegalArgumentException("parameter " + name + " has shape " + Arrays.toString(v.shape())
                        + ", expected " + Arrays.toString(p.shape()));
            }
        }
        for (String name : parameterNames) {
            sd.getArrForVarName(name).assign(values.get(name).castTo(DataType.FLOAT));
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
        useMode(Mode.LOCAL);
        Map<String, INDArray> ph = trainingInputs(images, labels);
        // The student gets no gradient from the local loss (it is stopped), so none is asked for.
        OutAndGrad r = CachedGradients.run(sd, ph, List.of(LOCAL_LOSS, LOCAL_LOGITS), localParameters);
        applyGradients(r.getGradients());
        double loss = r.getOutputs().get(LOCAL_LOSS).getDouble(0);
        return new StepResult(loss, loss, Double.NaN, Double.NaN,
                correct(r.getOutputs().get(LOCAL_LOGITS), labels), (int) images.size(0), null);
    }

    /**
     * One step with the network's answer: loss = local + remote + distillation.
     *
     * @param network the router's combined peer output for these images, {@code [b,512]}
     *                (or {@code [b,1,512]}); zeros where no peer answered
     * @return the losses, and d loss / d network ({@code [b,512]}) to send back to the peers
     */
    public synchronized StepResult trainWithNetwork(INDArray images, INDArray labels, INDArray network) {
        useMode(Mode.NETWORK);
        Map<String, INDArray> ph = trainingInputs(images, labels);
        ph.put(NETWORK, network2d(network, images.size(0)));
        List<String> wanted = new ArrayList<>(parameterNames);
        wanted.add(NETWORK);
        OutAndGrad r = CachedGradients.run(sd, ph,
                List.of(TOTAL_LOSS, LOCAL_LOSS, REMOTE_LOSS, DISTILL_LOSS, REMOTE_LOGITS), wanted);
        Map<String, INDArray> grads = new LinkedHashMap<>(r.getGradients());
        // A copy: the peers' Backward reads it on another thread, after the next step recycled SameDiff's.
        INDArray networkGrad = grads.remove(NETWORK).dup();
        applyGradients(grads);
        Map<String, INDArray> o = r.getOutputs();
        return new StepResult(o.get(TOTAL_LOSS).getDouble(0), o.get(LOCAL_LOSS).getDouble(0),
                o.get(REMOTE_LOSS).getDouble(0), o.get(DISTILL_LOSS).getDouble(0),
                correct(o.get(REMOTE_LOGITS), labels), (int) images.size(0), networkGrad);
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
        return sd.outputSingle(inferenceInputs(images), TRANSFORM);
    }

    /** Class logits {@code [b,10]} of the local (student-context) head, without dropout. */
    public INDArray predict(INDArray images) {
        return sd.outputSingle(inferenceInputs(images), LOCAL_LOGITS);
    }

    /** Local-head loss and number correct on a labelled batch, without dropout. */
    public Evaluation evaluate(INDArray images, INDArray labels) {
        Map<String, INDArray> ph = inferenceInputs(images);
        ph.put(LABELS, labels);
        Map<String, INDArray> o = sd.output(ph, LOCAL_LOSS, LOCAL_LOGITS);
        return new Evaluation(o.get(LOCAL_LOSS).getDouble(0), correct(o.get(LOCAL_LOGITS), labels), (int) images.size(0));
    }

    /**
     * Remote-head loss and number correct with the given network output as context, without
     * dropout and without training (how well the network's answer serves this model).
     */
    public Evaluation evaluateWithNetwork(INDArray images, INDArray labels, INDArray network) {
        Map<String, INDArray> ph = inferenceInputs(images);
        ph.put(LABELS, labels);
        ph.put(NETWORK, network2d(network, images.size(0)));
        Map<String, INDArray> o = sd.output(ph, REMOTE_LOSS, REMOTE_LOGITS);
        return new Evaluation(o.get(REMOTE_LOSS).getDouble(0), correct(o.get(REMOTE_LOGITS), labels), (int) images.size(0));
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
        useMode(Mode.SERVED);
        Map<String, INDArray> ph = inferenceInputs(images.reshape('c', n, 1, MnistSplit.ROWS, MnistSplit.COLS).castTo(DataType.FLOAT));
        ph.put(SERVED_GRAD, gradOutput.reshape('c', n, NETWORK_DIM)
                .get(NDArrayIndex.all(), NDArrayIndex.interval(0, TRANSFORM_DIM)).castTo(DataType.FLOAT).dup('c'));
        List<String> wanted = new ArrayList<>(conv());
        wanted.add(IMAGES);
        // Copies: the parameter gradients wait in a queue, and the next call recycles SameDiff's arrays.
        Map<String, INDArray> g = new LinkedHashMap<>();
        CachedGradients.run(sd, ph, List.of(), wanted).getGradients().forEach((k, v) -> g.put(k, v.dup()));
        INDArray dImages = g.remove(IMAGES).reshape('c', s[0], s[1], 1, MnistSplit.ROWS, MnistSplit.COLS);
        return new ServedBackward(dImages, g);
    }

    /** Parameters that the transform depends on. */
    private List<String> conv() {
        return parameterNames.stream().filter(p -> p.startsWith("conv")).toList();
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
            INDArray p = sd.getArrForVarName(name);
            if (p != null && p.closeable()) {
                p.close();
            }
        }
        updaters.close();
    }

    private static long[] checkImages(INDArray images) {
        long[] s = images.shape();
        if (s.length != 5 || s[0] < 1 || s[1] < 1 || s[2] != 1 || s[3] != MnistSplit.ROWS || s[4] != MnistSplit.COLS) {
            throw new IllegalArgumentException("images must be [batch, seq, 1, 28, 28], got " + Arrays.toString(s));
        }
        return s;
    }

    private void useMode(Mode m) {
        if (mode == m) {
            return;
        }
        // Switching the loss rebuilds the gradient function (a few ms); the training loop keeps one mode.
        switch (m) {
            case LOCAL -> {
                sd.setLossVariables(LOCAL_LOSS);
                sd.createGradFunction();
            }
            case NETWORK -> {
                sd.setLossVariables(TOTAL_LOSS);
                sd.createGradFunction(NETWORK); // without naming it, d loss / d network is not produced
            }
            case SERVED -> {
                sd.setLossVariables(SERVED_LOSS);
                sd.createGradFunction(IMAGES);
            }
        }
        mode = m;
    }

    private Map<String, INDArray> trainingInputs(INDArray images, INDArray labels) {
        long b = images.size(0);
        Map<String, INDArray> ph = new LinkedHashMap<>();
        ph.put(IMAGES, images);
        ph.put(LABELS, labels);
        ph.put(MASK, dropoutMask(b));
        return ph;
    }

    private Map<String, INDArray> inferenceInputs(INDArray images) {
        Map<String, INDArray> ph = new LinkedHashMap<>();
        ph.put(IMAGES, images);
        ph.put(MASK, Nd4j.ones(DataType.FLOAT, images.size(0), CONV2_CHANNELS, 1, 1));
        return ph;
    }

    /** Inverted channel dropout: kept channels scaled by 1/(1-p) so inference needs no rescaling. */
    private INDArray dropoutMask(long batch) {
        float[] m = new float[Math.toIntExact(batch * CONV2_CHANNELS)];
        double p = options.dropout();
        float keep = (float) (1.0 / (1.0 - p));
        for (int i = 0; i < m.length; i++) {
            m[i] = dropoutRng.nextDouble() < p ? 0f : keep;
        }
        return Nd4j.create(m, new long[] {batch, CONV2_CHANNELS, 1, 1}, DataType.FLOAT);
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
