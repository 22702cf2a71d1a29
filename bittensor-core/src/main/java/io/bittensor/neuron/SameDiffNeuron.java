package io.bittensor.neuron;

import io.bittensor.proto.Modality;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Neuron} over a user's SameDiff graph: forward, stateless backward and a parameter
 * gradient queue with its own optimizer, without the user writing gradient code.
 *
 * <p>The user builds a graph with one input placeholder per served modality and an output
 * variable {@code [batch, seq, 512]} for each, then binds them:
 * <pre>{@code
 * SameDiffNeuron neuron = SameDiffNeuron.builder(sd)
 *         .modality(Modality.TENSOR, "x", "y")
 *         .updater(new Adam(1e-3))
 *         .build();
 * }</pre>
 *
 * <p><b>Backward.</b> For each bound modality the builder adds a placeholder {@code G} (the
 * caller's gradient w.r.t. the output) and a scalar {@code L = sum(G ⊙ y)} to the graph. Then
 * dL/dx is exactly the vector-Jacobian product the caller asks for, and dL/dW the gradient on
 * the parameters, which is queued (bounded, the oldest dropped on overflow) until
 * {@link #drainAndApply()}.
 *
 * <p><b>Threads and the model.</b> SameDiff execution is not documented as thread-safe, so every
 * use of the graph (forward, backward, {@link #drainAndApply()}, {@link #withModel}) runs under
 * one lock. Parameters therefore change only between calls: each Forward/Backward sees the
 * parameters of a whole number of optimizer steps. Train or checkpoint the graph only through
 * {@link #withModel}. The graph is owned by this neuron after {@code build()}; its loss
 * variables are the neuron's (switching modality in Backward rebuilds the gradient function,
 * a few milliseconds; one-modality neurons never switch).
 */
public class SameDiffNeuron implements Neuron {
    private static final Logger LOG = LoggerFactory.getLogger(SameDiffNeuron.class);

    /** Prefix of the placeholders and variables this class adds to the user's graph. */
    public static final String PREFIX = "bt_";

    private record Binding(String input, String output, String gradPlaceholder, String loss,
                           DataType inputType, DataType outputType, boolean differentiableInput) {}

    private final SameDiff sd;
    private final Map<Modality, Binding> bindings;
    private final List<String> params;
    private final IUpdater updaterConfig;
    private final Map<String, GradientUpdater<?>> updaters = new HashMap<>();
    private final GradientQueue<Map<String, INDArray>> queue;
    private final ReentrantLock lock = new ReentrantLock();
    private Modality activeLoss; // guarded by lock
    private int iteration; // guarded by lock

    protected SameDiffNeuron(Builder b) {
        this.sd = b.sd;
        this.updaterConfig = b.updater.clone();
        this.queue = new GradientQueue<>(b.queueCapacity);
        Map<Modality, Binding> map = new EnumMap<>(Modality.class);
        for (Map.Entry<Modality, String[]> e : b.bindings.entrySet()) {
            map.put(e.getKey(), bind(e.getKey(), e.getValue()[0], e.getValue()[1]));
        }
        this.bindings = Collections.unmodifiableMap(map);
        List<String> p = new ArrayList<>();
        for (SDVariable v : sd.variables()) {
            if (v.getVariableType() == VariableType.VARIABLE) {
                p.add(v.name());
            }
        }
        this.params = List.copyOf(p);
        if (params.isEmpty()) {
            LOG.warn("SameDiffNeuron graph has no trainable variables; drainAndApply will do nothing");
        }
    }

    private Binding bind(Modality m, String input, String output) {
        SDVariable in = sd.getVariable(input);
        if (in == null || !in.isPlaceHolder()) {
            throw new IllegalArgumentException("'" + input + "' is not a placeholder of the graph");
        }
        SDVariable out = sd.getVariable(output);
        if (out == null) {
            throw new IllegalArgumentException("'" + output + "' is not a variable of the graph");
        }
        String tag = m.name().toLowerCase(java.util.Locale.ROOT);
        DataType outType = out.dataType();
        SDVariable g = sd.placeHolder(PREFIX + "grad_" + tag, outType, -1, -1, NETWORK_DIM);
        SDVariable loss = g.mul(out).sum(PREFIX + "loss_" + tag);
        boolean diff = in.dataType().isFPType();
        return new Binding(input, output, g.name(), loss.name(), in.dataType(), outType, diff);
    }

    public static Builder builder(SameDiff sd) {
        return new Builder(sd);
    }

    /** The modalities this neuron serves. */
    public java.util.Set<Modality> modalities() {
        return bindings.keySet();
    }

    @Override
    public INDArray forwardText(INDArray tokens) {
        return run(Modality.TEXT, tokens);
    }

    @Override
    public INDArray forwardImage(INDArray images) {
        return run(Modality.IMAGE, images);
    }

    @Override
    public INDArray forwardTensor(INDArray x) {
        return run(Modality.TENSOR, x);
    }

    private Binding binding(Modality m) {
        Binding b = bindings.get(m);
        if (b == null) {
            throw new UnsupportedModalityException(m);
        }
        return b;
    }

    private INDArray run(Modality m, INDArray x) {
        Binding b = binding(m);
        INDArray in = cast(x, b.inputType());
        lock.lock();
        try {
            // dup: the array must not depend on the session's memory once the lock is released.
            return sd.output(Map.of(b.input(), in), b.output()).get(b.output()).dup();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public INDArray backward(Modality m, INDArray inputs, INDArray gradOutputs) {
        Binding b = binding(m);
        INDArray in = cast(inputs, b.inputType());
        INDArray g = cast(gradOutputs, b.outputType());
        List<String> wanted = new ArrayList<>(params.size() + 1);
        if (b.differentiableInput()) {
            wanted.add(b.input());
        }
        wanted.addAll(params);
        Map<String, INDArray> grads;
        lock.lock();
        try {
            useLoss(m, b);
            Map<String, INDArray> raw = sd.calculateGradients(
                    Map.of(b.input(), in, b.gradPlaceholder(), g), wanted);
            grads = new HashMap<>(raw.size() * 2);
            for (Map.Entry<String, INDArray> e : raw.entrySet()) {
                if (e.getValue() != null) {
                    grads.put(e.getKey(), e.getValue().dup());
                }
            }
        } finally {
            lock.unlock();
        }
        INDArray dx = b.differentiableInput() ? grads.remove(b.input()) : null;
        if (dx == null) {
            // Integer inputs (TEXT tokens) have no gradient: answer zeros of the inputs' shape.
            dx = Nd4j.zeros(inputs.dataType().isFPType() ? inputs.dataType() : DataType.FLOAT,
                    inputs.shape());
        }
        if (!grads.isEmpty()) {
            queue.offer(Collections.unmodifiableMap(grads));
        }
        return dx;
    }

    private void useLoss(Modality m, Binding b) {
        if (activeLoss != m) {
            // Setting the loss drops the graph's gradient function; rebuild it naming the input
            // placeholder, without which SameDiff silently leaves out the input's gradient.
            sd.setLossVariables(b.loss());
            if (b.differentiableInput()) {
                sd.createGradFunction(b.input());
            } else {
                sd.createGradFunction();
            }
            activeLoss = m;
        }
    }

    private static INDArray cast(INDArray x, DataType want) {
        return x.dataType() == want ? x : x.castTo(want);
    }

    /**
     * Drains the gradient queue and, if anything was queued, applies the mean of the drained
     * gradients with one step of this neuron's optimizer.
     *
     * @return how many queued gradients the step used (0 = no step taken)
     */
    public int drainAndApply() {
        lock.lock();
        try {
            List<Map<String, INDArray>> drained = queue.drain();
            if (drained.isEmpty()) {
                return 0;
            }
            for (String p : params) {
                INDArray sum = null;
                for (Map<String, INDArray> g : drained) {
                    INDArray gp = g.get(p);
                    if (gp != null) {
                        sum = sum == null ? gp.dup('c') : sum.addi(gp);
                    }
                }
                if (sum == null) {
                    continue; // this parameter took no part in the queued calls
                }
                sum.divi(drained.size());
                INDArray param = sd.getArrForVarName(p);
                INDArray flat = sum.reshape('c', 1, sum.length());
                // applyUpdater turns the gradient into the update, in place.
                updater(p, param).applyUpdater(flat, iteration, 0);
                param.subi(flat.reshape('c', param.shape()));
            }
            iteration++;
            return drained.size();
        } finally {
            lock.unlock();
        }
    }

    private GradientUpdater<?> updater(String name, INDArray param) {
        return updaters.computeIfAbsent(name, n -> {
            long state = updaterConfig.stateSize(param.length());
            INDArray view = state > 0 ? Nd4j.zeros(param.dataType(), 1, state) : null;
            return updaterConfig.instantiate(view, true);
        });
    }

    /** Runs {@code action} on the graph with the model lock held (local training, checkpoints). */
    public <T> T withModel(Function<SameDiff, T> action) {
        lock.lock();
        try {
            activeLoss = null; // the action may change loss variables
            return action.apply(sd);
        } finally {
            lock.unlock();
        }
    }

    /** The queue of parameter gradients awaiting {@link #drainAndApply()}. */
    public GradientQueue<Map<String, INDArray>> gradientQueue() {
        return queue;
    }

    /** Names of the trainable variables the optimizer updates. */
    public List<String> parameterNames() {
        return params;
    }

    /** Optimizer steps taken so far. */
    public int steps() {
        lock.lock();
        try {
            return iteration;
        } finally {
            lock.unlock();
        }
    }

    /** Builder; {@code modality(...)} at least once. */
    public static final class Builder {
        private final SameDiff sd;
        private final Map<Modality, String[]> bindings = new LinkedHashMap<>();
        private IUpdater updater = new Adam(1e-3);
        private int queueCapacity = 64;

        private Builder(SameDiff sd) {
            this.sd = Objects.requireNonNull(sd, "sd");
        }

        /** Serves {@code modality} with input placeholder {@code input} and output {@code output}. */
        public Builder modality(Modality modality, String input, String output) {
            if (modality == Modality.UNRECOGNIZED) {
                throw new IllegalArgumentException("modality");
            }
            bindings.put(modality, new String[] {
                Objects.requireNonNull(input, "input"), Objects.requireNonNull(output, "output")});
            return this;
        }

        /** The optimizer for queued gradients; default Adam(1e-3). Copied at build. */
        public Builder updater(IUpdater updater) {
            this.updater = Objects.requireNonNull(updater, "updater");
            return this;
        }

        /** Bound on queued parameter gradients; default 64. */
        public Builder gradientQueueCapacity(int capacity) {
            if (capacity < 1) {
                throw new IllegalArgumentException("capacity must be >= 1");
            }
            this.queueCapacity = capacity;
            return this;
        }

        public SameDiffNeuron build() {
            if (bindings.isEmpty()) {
                throw new IllegalStateException("bind at least one modality");
            }
            return new SameDiffNeuron(this);
        }
    }
}
