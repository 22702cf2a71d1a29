package io.bittensor.runtime;

import io.bittensor.neuron.Neuron;
import io.bittensor.neuron.ServedInputs;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ServedInput;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * A small TENSOR model for the runtime's tests, in plain ND4J: softmax regression on features
 * {@code [b, F]}, with the network's answer as extra context ({@code logits = x·W + n·V + c}), plain
 * SGD. It serves its features zero-padded to 512 (Backward: the first F columns of the gradient;
 * its parameter gradient is a fixed nudge on {@code c}, so tests see peers' gradients arrive).
 */
final class LinearModel implements NeuronModel {
    static final String ID = "test-linear-v1";

    final int features;
    final int classes;
    /** Router contexts computed: one per routed batch. */
    final AtomicInteger contexts = new AtomicInteger();
    /** {@link #contexts} at each networked training step's start. */
    final List<Integer> contextsAtTrain = new CopyOnWriteArrayList<>();
    /** Whether {@link #contextSnapshot} offers snapshots (else null, the default). */
    final boolean offersSnapshots;
    /** The thread of each context computed by a snapshot, and each computed by {@link #routerContext}. */
    final List<String> snapshotThreads = new CopyOnWriteArrayList<>();
    final List<String> directThreads = new CopyOnWriteArrayList<>();
    /** Snapshots taken and closed. */
    final AtomicInteger snapshotsTaken = new AtomicInteger();
    final AtomicInteger snapshotsClosed = new AtomicInteger();
    final double rate;
    private final INDArray w;
    private final INDArray v;
    private final INDArray c;
    private int iteration;
    boolean closed;

    LinearModel(int features, int classes, double rate, long seed) {
        this(features, classes, rate, seed, false);
    }

    LinearModel(int features, int classes, double rate, long seed, boolean offersSnapshots) {
        this.offersSnapshots = offersSnapshots;
        this.features = features;
        this.classes = classes;
        this.rate = rate;
        SplittableRandom rng = new SplittableRandom(seed);
        float[] init = new float[features * classes];
        for (int i = 0; i < init.length; i++) {
            init[i] = (float) (rng.nextDouble() * 0.02 - 0.01);
        }
        this.w = Nd4j.create(init, new long[] {features, classes}, DataType.FLOAT);
        this.v = Nd4j.zeros(DataType.FLOAT, Neuron.NETWORK_DIM, classes);
        this.c = Nd4j.zeros(DataType.FLOAT, 1, classes);
    }

    static NeuronSpec<LinearModel> spec(int features, int classes) {
        return spec(features, classes, false);
    }

    /** As {@link #spec(int, int)}; with {@code snapshots}, the model offers context snapshots. */
    static NeuronSpec<LinearModel> spec(int features, int classes, boolean snapshots) {
        return new NeuronSpec<>("linear", 0.5, "linear.ckpt",
                (seed, rate, steps) -> new LinearModel(features, classes, rate, seed, snapshots));
    }

    /** TENSOR rows of {@code features} values: what routers may send it. */
    @Override
    public List<ServedInput> serves() {
        return List.of(ServedInputs.tensor(features));
    }

    @Override
    public Modality modality() {
        return Modality.TENSOR;
    }

    @Override
    public String modelId() {
        return ID;
    }

    @Override
    public int contextDim() {
        return features;
    }

    @Override
    public INDArray routerContext(INDArray inputs) {
        return context(inputs, directThreads);
    }

    /** The context (the features themselves), counted, with the computing thread noted in {@code threads}. */
    private INDArray context(INDArray inputs, List<String> threads) {
        contexts.incrementAndGet();
        threads.add(Thread.currentThread().getName());
        return inputs;
    }

    @Override
    public ContextSnapshot contextSnapshot() {
        if (!offersSnapshots) {
            return null;
        }
        snapshotsTaken.incrementAndGet();
        return new ContextSnapshot() {
            @Override
            public INDArray compute(INDArray inputs) {
                return context(inputs, snapshotThreads);
            }

            @Override
            public void close() {
                snapshotsClosed.incrementAndGet();
            }
        };
    }

    @Override
    public INDArray remoteInputs(INDArray inputs) {
        return inputs.reshape('c', inputs.size(0), 1, features);
    }

    private INDArray probabilities(INDArray x, INDArray network) {
        INDArray logits = x.mmul(w).addiRowVector(c);
        if (network != null) {
            logits.addi(network.mmul(v));
        }
        return Transforms.softmax(logits, true);
    }

    private static double crossEntropy(INDArray p, INDArray y) {
        return -Transforms.log(p.add(1e-7), true).mul(y).sumNumber().doubleValue() / p.size(0);
    }

    private static int correct(INDArray p, INDArray y) {
        return p.argMax(1).eq(y.argMax(1)).castTo(DataType.INT).sumNumber().intValue();
    }

    @Override
    public synchronized StepResult trainLocal(Batch batch) {
        INDArray x = batch.inputs();
        INDArray p = probabilities(x, null);
        double loss = crossEntropy(p, batch.labels());
        INDArray d = p.sub(batch.labels()).divi(x.size(0));
        w.subi(x.transpose().mmul(d).muli(rate));
        c.subi(d.sum(true, 0).muli(rate));
        iteration++;
        return new StepResult(loss, loss, Double.NaN, Double.NaN, correct(p, batch.labels()), batch.size(), null);
    }

    @Override
    public synchronized StepResult trainWithNetwork(Batch batch, INDArray network) {
        contextsAtTrain.add(contexts.get());
        INDArray x = batch.inputs();
        INDArray n = network.reshape('c', x.size(0), Neuron.NETWORK_DIM).castTo(DataType.FLOAT);
        INDArray p = probabilities(x, n);
        double loss = crossEntropy(p, batch.labels());
        INDArray d = p.sub(batch.labels()).divi(x.size(0));
        INDArray networkGrad = d.mmul(v.transpose());
        w.subi(x.transpose().mmul(d).muli(rate));
        v.subi(n.transpose().mmul(d).muli(rate));
        c.subi(d.sum(true, 0).muli(rate));
        iteration++;
        return new StepResult(loss, loss, loss, 0, correct(p, batch.labels()), batch.size(), networkGrad);
    }

    @Override
    public Evaluation evaluate(Batch batch) {
        INDArray p = probabilities(batch.inputs(), null);
        return new Evaluation(crossEntropy(p, batch.labels()), correct(p, batch.labels()), batch.size());
    }

    @Override
    public INDArray forward(INDArray inputs) {
        long[] s = check(inputs);
        INDArray out = Nd4j.zeros(DataType.FLOAT, s[0], s[1], Neuron.NETWORK_DIM);
        out.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, features)).assign(inputs);
        return out;
    }

    @Override
    public ServedBackward backward(INDArray inputs, INDArray gradOutputs) {
        check(inputs);
        INDArray d = gradOutputs.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, features)).dup();
        return new ServedBackward(d, Map.of("c", Nd4j.ones(DataType.FLOAT, 1, classes)));
    }

    private long[] check(INDArray inputs) {
        long[] s = inputs.shape();
        if (s.length != 3 || s[2] != features) {
            throw new IllegalArgumentException("inputs must be [batch, seq, " + features + "], got " + Arrays.toString(s));
        }
        return s;
    }

    @Override
    public synchronized void applyGradients(Map<String, INDArray> grads) {
        INDArray g = grads.get("c");
        if (g != null) {
            c.subi(g.mul(rate));
        }
        iteration++;
    }

    @Override
    public Map<String, INDArray> parameters() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        out.put("w", w.dup());
        out.put("v", v.dup());
        out.put("c", c.dup());
        return out;
    }

    @Override
    public void setParameters(Map<String, INDArray> values) {
        Map<String, INDArray> mine = Map.of("w", w, "v", v, "c", c);
        for (Map.Entry<String, INDArray> e : mine.entrySet()) {
            INDArray given = values.get(e.getKey());
            if (given == null || !Arrays.equals(given.shape(), e.getValue().shape())) {
                throw new IllegalArgumentException("parameter " + e.getKey() + " is missing or mis-shaped");
            }
        }
        mine.forEach((k, p) -> p.assign(values.get(k)));
    }

    @Override
    public Map<String, INDArray> optimizerState() {
        return Map.of(); // plain SGD
    }

    @Override
    public void setOptimizerState(Map<String, INDArray> state, int iteration) {
        this.iteration = iteration;
    }

    @Override
    public int iteration() {
        return iteration;
    }

    @Override
    public LinearModel copy() {
        LinearModel m = new LinearModel(features, classes, rate, 0);
        m.setParameters(parameters());
        return m;
    }

    @Override
    public void close() {
        closed = true;
    }
}
