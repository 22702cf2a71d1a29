package io.bittensor.examples.cifar;

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
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.api.OutAndGrad;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * The CIFAR-10 neuron's model, after the original's DPN synapse, as one SameDiff graph.
 *
 * <pre>
 * images [b,3,32,32] in [0,1] ─ normalize ─ DPN (stem, dual-path stages) ─ avgpool 4 ─ flatten ─▶ transform [b,T]
 * student:  stop(transform) ─ T→512 relu ─ 512→256 relu ─ 256→512 ─▶ student [b,512]
 * hidden:   (transform ⊕ context[512]) ─ →512 relu ─ 512→256 relu ─ 256→512 ─▶ hidden [b,512];
 *           logits = hidden[:, 0:10]; loss = softmax cross-entropy
 *   local head:  context = stop(student)    → local_loss  (always); its hidden is what peers get
 *   remote head: context = network          → remote_loss (with the network)
 *   distill:     MSE(student, stop(network)) → distill_loss (with the network)
 * probe:    transform → T→10 (one linear head: the speed comparison's configuration)
 * </pre>
 *
 * <p>As the original, peers are served the local head's hidden layer {@code [b,512]}. Unlike it,
 * the linear layers have ReLUs between them (the original's stacks are purely linear) and the loss
 * reads the first ten of the 512 outputs rather than a softmax over all 512.
 *
 * <p>Batch norm keeps running statistics (momentum 0.1) updated after each training step and used
 * for evaluation and serving; see {@link DpnGraph}.
 *
 * <p>A runtime {@link NeuronModel} (IMAGE, serving {@code [3, 32, 32]}): {@link #spec} is the CIFAR-10
 * neuron. Checkpoints hold the running statistics as the model's {@link #buffers()}.
 *
 * <p>Threads: as {@code MnistModel}. The training thread owns the model it trains; serve a
 * {@link #copy()}, on which {@link #forwardImage} may run on many threads while
 * {@link #backwardImage} calls are serialized.
 */
public final class DpnModel implements NeuronModel {
    public static final int NETWORK_DIM = 512;
    static final int CONTEXT1 = 512;
    static final int CONTEXT2 = 256;

    static final String IMAGES = "images";
    static final String LABELS = "labels";
    static final String NETWORK = "network";
    static final String SERVED_GRAD = "served_grad";
    static final String TRANSFORM = "transform";
    static final String LOCAL_LOSS = "local_loss";
    static final String REMOTE_LOSS = "remote_loss";
    static final String DISTILL_LOSS = "distill_loss";
    static final String TOTAL_LOSS = "total_loss";
    static final String LOCAL_LOGITS = "local_logits";
    static final String REMOTE_LOGITS = "remote_logits";
    static final String PROBE_LOSS = "probe_loss";
    static final String PROBE_LOGITS = "probe_logits";
    static final String EVAL_LOCAL_LOSS = "eval_local_loss";
    static final String EVAL_LOCAL_LOGITS = "eval_local_logits";
    static final String EVAL_REMOTE_LOSS = "eval_remote_loss";
    static final String EVAL_REMOTE_LOGITS = "eval_remote_logits";
    static final String EVAL_PROBE_LOGITS = "eval_probe_logits";
    static final String SERVED = "served";
    static final String SERVED_LOSS = "served_loss";

    static final String MODEL_ID = "bittensor-cifar-dpn-v1";
    /** The neuron's name: its synapse key is derived from it. */
    public static final String NAME = "cifar";
    /** Checkpoint file in datapath when --model_path is not given. */
    public static final String DEFAULT_MODEL_FILE = "cifar-model.ckpt";

    /**
     * Train through SameDiff's own gradient function instead of {@link DpnEngine} (same results,
     * many times slower; kept to measure one against the other: {@code -Dbittensor.cifar.samediffStep=true}).
     */
    private static final boolean SAMEDIFF_STEP = Boolean.getBoolean("bittensor.cifar.samediffStep");

    /** Adam's starting rate. */
    public static final double DEFAULT_LEARNING_RATE = 0.002;
    /** The rate decays along a cosine to this fraction of the start over the planned run. */
    public static final double DEFAULT_DECAY_FLOOR = 0.02;

    /** Which loss the gradient function differentiates. */
    public enum Mode { LOCAL, NETWORK, PROBE, SERVED }

    /** Model knobs. */
    public record Options(DpnConfig config, long seed, IUpdater updater) {
        public Options {
            Objects.requireNonNull(config, "config");
            Objects.requireNonNull(updater, "updater");
        }

        /** Adam from {@code learningRate}, cosine-decayed to {@link #DEFAULT_DECAY_FLOOR} over {@code plannedSteps}. */
        public static Options defaults(DpnConfig config, long seed, double learningRate, int plannedSteps) {
            return new Options(config, seed,
                    new Adam(new CosineDecaySchedule(learningRate, DEFAULT_DECAY_FLOOR, Math.max(1, plannedSteps))));
        }
    }

    /** The CIFAR-10 neuron of this preset for the runtime, with the defaults of {@link Options#defaults}. */
    public static NeuronSpec<DpnModel> spec(DpnConfig config) {
        return new NeuronSpec<>(NAME, DEFAULT_LEARNING_RATE, DEFAULT_MODEL_FILE,
                (seed, rate, steps) -> new DpnModel(Options.defaults(config, seed, rate, steps)));
    }

    private final Options options;
    private final SameDiff sd;
    private final List<String> parameterNames;
    private final List<DpnGraph.Norm> norms;
    private final List<String> batchStats;
    private final Map<Mode, List<String>> trained = new LinkedHashMap<>();
    private final ParameterUpdaters updaters;
    private Mode mode;
    private DpnEngine engine;
    private DpnHeads heads;
    private boolean sameDiffStep = SAMEDIFF_STEP;

    public DpnModel(Options options) {
        this.options = options;
        this.sd = SameDiff.create();
        DpnGraph g = new DpnGraph(sd, new SplittableRandom(options.seed()), DataType.FLOAT);
        build(g, options.config());
        this.parameterNames = Collections.unmodifiableList(new ArrayList<>(g.parameters()));
        this.norms = List.copyOf(g.norms());
        List<String> stats = new ArrayList<>();
        for (DpnGraph.Norm n : norms) {
            stats.add(n.batchMean());
            stats.add(n.batchVar());
        }
        this.batchStats = List.copyOf(stats);
        List<String> transformParams = parameterNames.stream()
                .filter(p -> !p.startsWith("student") && !p.startsWith("hidden") && !p.startsWith("probe")).toList();
        List<String> hidden = parameterNames.stream().filter(p -> p.startsWith("hidden")).toList();
        List<String> local = new ArrayList<>(transformParams);
        local.addAll(hidden);
        trained.put(Mode.LOCAL, List.copyOf(local));
        trained.put(Mode.NETWORK, parameterNames.stream().filter(p -> !p.startsWith("probe")).toList());
        List<String> probe = new ArrayList<>(transformParams);
        probe.addAll(parameterNames.stream().filter(p -> p.startsWith("probe")).toList());
        trained.put(Mode.PROBE, List.copyOf(probe));
        trained.put(Mode.SERVED, trained.get(Mode.NETWORK));
        this.updaters = new ParameterUpdaters(options.updater(), parameterNames, sd::getArrForVarName);
    }

    private void build(DpnGraph g, DpnConfig c) {
        int t = c.transformDim();
        SDVariable images = sd.placeHolder(IMAGES, DataType.FLOAT, -1, CifarImages.CHANNELS, CifarImages.SIZE, CifarImages.SIZE);
        SDVariable labels = sd.placeHolder(LABELS, DataType.FLOAT, -1, CifarImages.CLASSES);
        SDVariable network = sd.placeHolder(NETWORK, DataType.FLOAT, -1, NETWORK_DIM);
        SDVariable servedGrad = sd.placeHolder(SERVED_GRAD, DataType.FLOAT, -1, NETWORK_DIM);
        INDArray mean = Nd4j.create(CifarImages.MEAN, new long[] {1, 3, 1, 1}, DataType.FLOAT);
        INDArray std = Nd4j.create(CifarImages.STD, new long[] {1, 3, 1, 1}, DataType.FLOAT);
        SDVariable x = images.sub(sd.constant("pixel_mean", mean)).div(sd.constant("pixel_std", std));

        for (boolean training : new boolean[] {true, false}) {
            String pre = training ? "" : "eval_";
            SDVariable transform = g.transform(c, x, training).rename(pre + TRANSFORM);
            SDVariable s = g.linear("student1", g.stop(transform), t, CONTEXT1);
            s = g.linear("student2", sd.nn.relu(s, 0), CONTEXT1, CONTEXT2);
            SDVariable student = g.linear("student3", sd.nn.relu(s, 0), CONTEXT2, NETWORK_DIM);
            SDVariable localHidden = hidden(g, transform, g.stop(student), t);
            if (!training) {
                localHidden = localHidden.rename(SERVED);
            }
            SDVariable remoteHidden = hidden(g, transform, network, t);
            SDVariable probe = g.linear("probe", transform, t, CifarImages.CLASSES);
            SDVariable localLogits = logits(localHidden).rename(pre + LOCAL_LOGITS);
            SDVariable remoteLogits = logits(remoteHidden).rename(pre + REMOTE_LOGITS);
            probe = probe.rename(pre + PROBE_LOGITS);
            SDVariable localLoss = crossEntropy(pre + LOCAL_LOSS, labels, localLogits);
            SDVariable remoteLoss = crossEntropy(pre + REMOTE_LOSS, labels, remoteLogits);
            if (training) {
                crossEntropy(PROBE_LOSS, labels, probe);
                SDVariable distill = sd.loss.meanSquaredError(DISTILL_LOSS, g.stop(network), student, null,
                        LossReduce.MEAN_BY_NONZERO_WEIGHT_COUNT);
                localLoss.add(remoteLoss).add(TOTAL_LOSS, distill);
            } else {
                // Served output and its Backward: d sum(G ⊙ served) w.r.t. images and parameters.
                localHidden.mul(servedGrad).sum(SERVED_LOSS);
            }
        }
    }

    private SDVariable hidden(DpnGraph g, SDVariable transform, SDVariable context, int t) {
        SDVariable h = g.linear("hidden1", sd.concat(1, transform, context), t + NETWORK_DIM, CONTEXT1);
        h = g.linear("hidden2", sd.nn.relu(h, 0), CONTEXT1, CONTEXT2);
        return g.linear("hidden3", sd.nn.relu(h, 0), CONTEXT2, NETWORK_DIM);
    }

    private static SDVariable logits(SDVariable hidden) {
        return hidden.get(SDIndex.all(), SDIndex.interval(0, CifarImages.CLASSES));
    }

    private SDVariable crossEntropy(String name, SDVariable labels, SDVariable logits) {
        return sd.loss.softmaxCrossEntropy(name, labels, logits, null, LossReduce.MEAN_BY_NONZERO_WEIGHT_COUNT, 0.0);
    }

    public Options options() {
        return options;
    }

    public DpnConfig config() {
        return options.config();
    }

    /** Tests: train through SameDiff's gradient function (true) or {@link DpnEngine}. */
    void useSameDiffStep(boolean sameDiff) {
        this.sameDiffStep = sameDiff;
    }

    /** Trainable variables' names, in a fixed order. */
    public List<String> parameterNames() {
        return parameterNames;
    }

    /** Number of trainable values. */
    public long parameterCount() {
        return parameterNames.stream().mapToLong(n -> sd.getArrForVarName(n).length()).sum();
    }

    /** Optimizer steps taken so far. */
    @Override
    public int iteration() {
        return updaters.iteration();
    }

    @Override
    public Modality modality() {
        return Modality.IMAGE;
    }

    /** CIFAR images, three channels of 32 × 32: what routers may send us. */
    @Override
    public List<ServedInput> serves() {
        return List.of(ServedInputs.image(CifarImages.CHANNELS, CifarImages.SIZE, CifarImages.SIZE));
    }

    /** The architecture and preset: a checkpoint of another preset is refused. */
    @Override
    public String modelId() {
        return MODEL_ID + "/" + config().name();
    }

    @Override
    public int contextDim() {
        return config().transformDim();
    }

    /** The transform of a training batch's images {@code [b,3,32,32]}: {@code [b,T]} (running statistics). */
    @Override
    public INDArray routerContext(INDArray images) {
        return transform(images);
    }

    /** Images {@code [b,3,32,32]} as peers get them: {@code [b,1,3,32,32]}. */
    @Override
    public INDArray remoteInputs(INDArray images) {
        return images.reshape('c', images.size(0), 1, CifarImages.CHANNELS, CifarImages.SIZE, CifarImages.SIZE);
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

    /** One step alone: the local loss (transform and hidden net). */
    public synchronized StepResult trainLocal(INDArray images, INDArray labels) {
        if (!sameDiffStep) {
            DpnHeads.Result r = engineStep(Mode.LOCAL, images, labels, null);
            return new StepResult(r.loss(), r.localLoss(), Double.NaN, Double.NaN, correct(r.logits(), labels),
                    (int) images.size(0), null);
        }
        OutAndGrad r = step(Mode.LOCAL, images, labels, null, LOCAL_LOSS, LOCAL_LOGITS);
        double loss = r.getOutputs().get(LOCAL_LOSS).getDouble(0);
        return new StepResult(loss, loss, Double.NaN, Double.NaN, correct(r.getOutputs().get(LOCAL_LOGITS), labels),
                (int) images.size(0), null);
    }

    /** One step of the transform with one linear classifier on it (the speed comparison's configuration). */
    public synchronized StepResult trainProbe(INDArray images, INDArray labels) {
        if (!sameDiffStep) {
            DpnHeads.Result r = engineStep(Mode.PROBE, images, labels, null);
            return new StepResult(r.loss(), r.loss(), Double.NaN, Double.NaN, correct(r.logits(), labels),
                    (int) images.size(0), null);
        }
        OutAndGrad r = step(Mode.PROBE, images, labels, null, PROBE_LOSS, PROBE_LOGITS);
        double loss = r.getOutputs().get(PROBE_LOSS).getDouble(0);
        return new StepResult(loss, loss, Double.NaN, Double.NaN, correct(r.getOutputs().get(PROBE_LOGITS), labels),
                (int) images.size(0), null);
    }

    /**
     * One step with the network's answer: loss = local + remote + distillation.
     *
     * @param network the router's combined peer output {@code [b,512]} or {@code [b,1,512]}
     * @return the losses, and d loss / d network {@code [b,512]} for the peers' Backward
     */
    public synchronized StepResult trainWithNetwork(INDArray images, INDArray labels, INDArray network) {
        if (!sameDiffStep) {
            DpnHeads.Result r = engineStep(Mode.NETWORK, images, labels, network2d(network, images.size(0)));
            return new StepResult(r.loss(), r.localLoss(), r.remoteLoss(), r.distillLoss(),
                    correct(r.logits(), labels), (int) images.size(0), r.dNetwork());
        }
        OutAndGrad r = step(Mode.NETWORK, images, labels, network2d(network, images.size(0)),
                TOTAL_LOSS, LOCAL_LOSS, REMOTE_LOSS, DISTILL_LOSS, REMOTE_LOGITS);
        Map<String, INDArray> o = r.getOutputs();
        return new StepResult(o.get(TOTAL_LOSS).getDouble(0), o.get(LOCAL_LOSS).getDouble(0),
                o.get(REMOTE_LOSS).getDouble(0), o.get(DISTILL_LOSS).getDouble(0),
                correct(o.get(REMOTE_LOGITS), labels), (int) images.size(0), r.getGradients().get(NETWORK));
    }

    private OutAndGrad step(Mode m, INDArray images, INDArray labels, INDArray network, String... outputs) {
        checkBatch(images, labels);
        useMode(m);
        Map<String, INDArray> ph = new LinkedHashMap<>();
        ph.put(IMAGES, images);
        ph.put(LABELS, labels);
        List<String> wanted = new ArrayList<>(trained.get(m));
        if (network != null) {
            ph.put(NETWORK, network);
            wanted.add(NETWORK);
        }
        List<String> outs = new ArrayList<>(List.of(outputs));
        outs.addAll(batchStats);
        OutAndGrad r = sd.calculateGradientsAndOutputs(ph, outs, wanted);
        Map<String, INDArray> grads = new LinkedHashMap<>(r.getGradients());
        grads.remove(NETWORK);
        applyGradients(grads);
        updateRunningStatistics(r.getOutputs());
        return r;
    }

    /**
     * The fast training step: the DPN by {@link DpnEngine}, the heads by {@link DpnHeads}, on the
     * graph's own parameter arrays; the same loss and gradients as {@link #step}.
     */
    private DpnHeads.Result engineStep(Mode m, INDArray images, INDArray labels, INDArray network) {
        checkBatch(images, labels);
        if (engine == null) {
            Map<String, INDArray> arrays = new LinkedHashMap<>();
            parameterNames.forEach(n -> arrays.put(n, sd.getArrForVarName(n)));
            engine = new DpnEngine(options.config(), arrays, DataType.FLOAT);
            heads = new DpnHeads(arrays);
        }
        INDArray t = engine.forward(images);
        DpnHeads.Result r = switch (m) {
            case PROBE -> heads.probe(t, labels);
            case LOCAL -> heads.local(t, labels);
            case NETWORK -> heads.network(t, labels, network);
            case SERVED -> throw new IllegalArgumentException("not a training mode");
        };
        engine.backward(r.dTransform());
        Map<String, INDArray> grads = new LinkedHashMap<>(engine.gradients());
        grads.putAll(r.grads());
        applyGradients(grads);
        Map<String, INDArray> stats = new LinkedHashMap<>();
        engine.batchStatistics().forEach((name, mv) -> {
            stats.put(name + "_bmean", mv[0]);
            stats.put(name + "_bvar", mv[1]);
        });
        updateRunningStatistics(stats);
        return r;
    }

    /**
     * running ← (1−m)·running + m·batch. The biased batch variance (PyTorch keeps the unbiased one;
     * over batch·height·width ≥ 1 024 values at batch 64 they differ by under 0.1 %).
     */
    private void updateRunningStatistics(Map<String, INDArray> outputs) {
        double keep = 1 - DpnGraph.BN_MOMENTUM;
        for (DpnGraph.Norm n : norms) {
            INDArray bm = outputs.get(n.batchMean());
            INDArray bv = outputs.get(n.batchVar());
            if (bm == null || bv == null) {
                continue; // this mode does not run that layer
            }
            sd.getArrForVarName(n.runningMean()).muli(keep).addi(bm.mul(DpnGraph.BN_MOMENTUM));
            sd.getArrForVarName(n.runningVar()).muli(keep).addi(bv.mul(DpnGraph.BN_MOMENTUM));
        }
    }

    /**
     * Applies parameter gradients with this model's optimizer (one step): the training steps' own,
     * or those that peers' Backward calls produced on a served copy. Unknown names are ignored.
     */
    @Override
    public synchronized void applyGradients(Map<String, INDArray> grads) {
        updaters.apply(grads);
    }

    /** The transform {@code [b,T]} of images {@code [b,3,32,32]} (running statistics). */
    public INDArray transform(INDArray images) {
        return sd.outputSingle(Map.of(IMAGES, images), "eval_" + TRANSFORM);
    }

    /** Local-head loss and number correct on a labelled batch (running statistics). */
    public Evaluation evaluate(INDArray images, INDArray labels) {
        checkBatch(images, labels);
        Map<String, INDArray> o = sd.output(Map.of(IMAGES, images, LABELS, labels), EVAL_LOCAL_LOSS, EVAL_LOCAL_LOGITS);
        return new Evaluation(o.get(EVAL_LOCAL_LOSS).getDouble(0), correct(o.get(EVAL_LOCAL_LOGITS), labels),
                (int) images.size(0));
    }

    /** Correct answers of the linear probe head on a labelled batch (running statistics). */
    public Evaluation evaluateProbe(INDArray images, INDArray labels) {
        checkBatch(images, labels);
        INDArray logits = sd.outputSingle(Map.of(IMAGES, images), EVAL_PROBE_LOGITS);
        return new Evaluation(Double.NaN, correct(logits, labels), (int) images.size(0));
    }

    /** Remote-head loss and number correct with the network's answer as context (no training). */
    public Evaluation evaluateWithNetwork(INDArray images, INDArray labels, INDArray network) {
        checkBatch(images, labels);
        Map<String, INDArray> o = sd.output(Map.of(IMAGES, images, LABELS, labels,
                NETWORK, network2d(network, images.size(0))), EVAL_REMOTE_LOSS, EVAL_REMOTE_LOGITS);
        return new Evaluation(o.get(EVAL_REMOTE_LOSS).getDouble(0), correct(o.get(EVAL_REMOTE_LOGITS), labels),
                (int) images.size(0));
    }

    /** What peers get from Forward: images {@code [b, seq, 3, 32, 32]} → the local head's hidden {@code [b, seq, 512]}. */
    public INDArray forwardImage(INDArray images) {
        long[] s = checkImages(images);
        INDArray flat = images.reshape('c', s[0] * s[1], CifarImages.CHANNELS, CifarImages.SIZE, CifarImages.SIZE)
                .castTo(DataType.FLOAT);
        return sd.outputSingle(Map.of(IMAGES, flat), SERVED).reshape('c', s[0], s[1], NETWORK_DIM);
    }

    /**
     * Backward for a peer: the gradients of {@code sum(gradOutput ⊙ forwardImage(images))} with
     * respect to the images ({@code [b, seq, 3, 32, 32]}) and to this model's parameters.
     */
    public synchronized ServedBackward backwardImage(INDArray images, INDArray gradOutput) {
        long[] s = checkImages(images);
        long n = s[0] * s[1];
        if (!Arrays.equals(gradOutput.shape(), new long[] {s[0], s[1], NETWORK_DIM})) {
            throw new IllegalArgumentException("gradOutput has shape " + Arrays.toString(gradOutput.shape())
                    + ", expected [" + s[0] + ", " + s[1] + ", " + NETWORK_DIM + "]");
        }
        useMode(Mode.SERVED);
        Map<String, INDArray> ph = new LinkedHashMap<>();
        ph.put(IMAGES, images.reshape('c', n, CifarImages.CHANNELS, CifarImages.SIZE, CifarImages.SIZE)
                .castTo(DataType.FLOAT));
        ph.put(SERVED_GRAD, gradOutput.reshape('c', n, NETWORK_DIM).castTo(DataType.FLOAT));
        List<String> wanted = new ArrayList<>(trained.get(Mode.SERVED));
        wanted.removeIf(p -> p.startsWith("student")); // the served output stops the student's gradient
        wanted.add(IMAGES);
        Map<String, INDArray> g = new LinkedHashMap<>(sd.calculateGradients(ph, wanted));
        INDArray dImages = g.remove(IMAGES).reshape('c', s[0], s[1], CifarImages.CHANNELS, CifarImages.SIZE,
                CifarImages.SIZE);
        return new ServedBackward(dImages, g);
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

    /** Copies of the batch-norm running statistics. */
    public Map<String, INDArray> runningStatistics() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (DpnGraph.Norm n : norms) {
            out.put(n.runningMean(), sd.getArrForVarName(n.runningMean()).dup());
            out.put(n.runningVar(), sd.getArrForVarName(n.runningVar()).dup());
        }
        return out;
    }

    /** The running statistics: state that is not trained but belongs in a checkpoint. */
    @Override
    public Map<String, INDArray> buffers() {
        return runningStatistics();
    }

    @Override
    public void setBuffers(Map<String, INDArray> values) {
        List<String> statNames = new ArrayList<>(runningStatistics().keySet());
        check(statNames, values);
        for (String name : statNames) {
            sd.getArrForVarName(name).assign(values.get(name).castTo(DataType.FLOAT));
        }
    }

    /** Overwrites the parameters, running statistics unchanged. */
    @Override
    public void setParameters(Map<String, INDArray> values) {
        setParameters(values, null);
    }

    /**
     * Overwrites parameters (and running statistics, when given) after checking every shape.
     *
     * @throws IllegalArgumentException naming the first missing or mis-shaped parameter
     */
    public void setParameters(Map<String, INDArray> values, Map<String, INDArray> statistics) {
        check(parameterNames, values);
        List<String> statNames = new ArrayList<>(runningStatistics().keySet());
        if (statistics != null) {
            check(statNames, statistics);
        }
        for (String name : parameterNames) {
            sd.getArrForVarName(name).assign(values.get(name).castTo(DataType.FLOAT));
        }
        if (statistics != null) {
            for (String name : statNames) {
                sd.getArrForVarName(name).assign(statistics.get(name).castTo(DataType.FLOAT));
            }
        }
    }

    private void check(List<String> names, Map<String, INDArray> values) {
        for (String name : names) {
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
    }

    /** The optimizer's state, keyed "parameter/stateName". */
    @Override
    public Map<String, INDArray> optimizerState() {
        return updaters.state();
    }

    /** Restores {@link #optimizerState()}; entries that do not fit are ignored (the optimizer restarts). */
    @Override
    public void setOptimizerState(Map<String, INDArray> state, int iteration) {
        updaters.setState(state, iteration);
    }

    /** A fresh model with the same options and a copy of the parameters and statistics (fresh optimizer). */
    @Override
    public DpnModel copy() {
        DpnModel m = new DpnModel(options);
        m.setParameters(parameters(), runningStatistics());
        return m;
    }

    /** Frees parameters', statistics' and optimizer state's native memory now rather than at GC. */
    @Override
    public void close() {
        for (String name : sd.variableMap().keySet()) {
            INDArray a = sd.getArrForVarName(name);
            if (a != null && a.closeable() && (parameterNames.contains(name) || name.endsWith("_rmean")
                    || name.endsWith("_rvar"))) {
                a.close();
            }
        }
        updaters.close();
        if (engine != null) {
            engine.close();
        }
    }

    private void useMode(Mode m) {
        if (mode == m) {
            return;
        }
        switch (m) {
            case LOCAL -> sd.setLossVariables(LOCAL_LOSS);
            case PROBE -> sd.setLossVariables(PROBE_LOSS);
            case NETWORK -> {
                sd.setLossVariables(TOTAL_LOSS);
                sd.createGradFunction(NETWORK);
            }
            case SERVED -> {
                sd.setLossVariables(SERVED_LOSS);
                sd.createGradFunction(IMAGES);
            }
        }
        mode = m;
    }

    static long[] checkImages(INDArray images) {
        long[] s = images.shape();
        if (s.length != 5 || s[0] < 1 || s[1] < 1 || s[2] != CifarImages.CHANNELS || s[3] != CifarImages.SIZE
                || s[4] != CifarImages.SIZE) {
            throw new IllegalArgumentException("images must be [batch, seq, 3, 32, 32], got " + Arrays.toString(s));
        }
        return s;
    }

    private static void checkBatch(INDArray images, INDArray labels) {
        long[] s = images.shape();
        if (s.length != 4 || s[1] != CifarImages.CHANNELS || s[2] != CifarImages.SIZE || s[3] != CifarImages.SIZE) {
            throw new IllegalArgumentException("images must be [batch, 3, 32, 32], got " + Arrays.toString(s));
        }
        if (labels.rank() != 2 || labels.size(0) != s[0] || labels.size(1) != CifarImages.CLASSES) {
            throw new IllegalArgumentException("labels must be [" + s[0] + ", 10] one-hot, got "
                    + Arrays.toString(labels.shape()));
        }
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
        return logits.argMax(1).eq(oneHot.argMax(1)).castTo(DataType.INT).sumNumber().intValue();
    }
}
