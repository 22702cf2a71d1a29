package io.bittensor.runtime;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * One optimizer over a model's named parameters: an ND4J {@link GradientUpdater} per parameter
 * (Adam's moments, …), the step count, and that state as named arrays for checkpoints
 * ({@link NeuronModel#optimizerState()}). A model keeps one and delegates
 * {@link NeuronModel#applyGradients}, {@code optimizerState}, {@code setOptimizerState} and
 * {@code iteration} to it.
 *
 * <p>Parameters are updated in place ({@code param -= update}), so a SameDiff graph's variables
 * change without being reassigned. Not thread-safe: the owning model serializes its steps.
 */
public final class ParameterUpdaters implements AutoCloseable {
    private final Function<String, INDArray> parameters;
    private final Map<String, GradientUpdater<?>> updaters = new LinkedHashMap<>();
    private final Map<String, FlatViews> flat = new HashMap<>(); // at most one per parameter
    private int iteration;

    /**
     * @param updater    the optimizer's configuration (e.g. {@code new Adam(schedule)})
     * @param names      the trainable parameters, in a fixed order
     * @param parameters the live array of each name (e.g. {@code sameDiff::getArrForVarName}); looked up at each step
     */
    public ParameterUpdaters(IUpdater updater, List<String> names, Function<String, INDArray> parameters) {
        Objects.requireNonNull(updater, "updater");
        this.parameters = Objects.requireNonNull(parameters, "parameters");
        for (String name : names) {
            long size = updater.stateSize(parameters.apply(name).length());
            // Stateless updaters (plain SGD) refuse a state array.
            updaters.put(name, size == 0 ? updater.instantiate((INDArray) null, false)
                    : updater.instantiate(Nd4j.zeros(DataType.FLOAT, 1, size), true));
        }
    }

    /**
     * One optimizer step with the given gradients (unknown names ignored, parameters without a
     * gradient left alone), then the step count goes up by one.
     */
    public void apply(Map<String, INDArray> grads) {
        step(grads, true);
    }

    /**
     * As {@link #apply}, but consuming {@code grads}: the updater rewrites each gradient in place
     * instead of a copy (a whole c-ordered float array is used as it is; others are copied). For
     * a model whose gradients are fresh arrays of its own and large enough for a copy per step to
     * count (the text model's 30 522-row embedding).
     */
    public void applyConsuming(Map<String, INDArray> grads) {
        step(grads, false);
    }

    private void step(Map<String, INDArray> grads, boolean copy) {
        for (Map.Entry<String, INDArray> e : grads.entrySet()) {
            GradientUpdater<?> u = updaters.get(e.getKey());
            if (u == null) {
                continue;
            }
            INDArray param = parameters.apply(e.getKey());
            FlatViews views = copy ? null : flatViews(e.getKey(), e.getValue(), param);
            if (views != null) {
                u.applyUpdater(views.gradient(), iteration, 0);
                views.parameter().subi(views.gradient());
                continue;
            }
            INDArray g = e.getValue().castTo(DataType.FLOAT);
            g = copy || g.isView() || g.ordering() != 'c' ? g.dup('c') : g;
            // Updaters work on flat [1, n] views (their state is laid out that way).
            g = g.reshape(1, param.length());
            u.applyUpdater(g, iteration, 0);
            param.subi(g.reshape(param.shape()));
        }
        iteration++;
    }

    /**
     * Flat [1, n] views of a consumed gradient and its parameter, kept while the model hands in the
     * same two arrays step after step (a model with gradient buffers of its own): each view is an
     * ND4J array with a native shape buffer, ~13 µs to make and a GC survival here. Null when
     * either array is not a whole C-ordered float array (then the copying path applies).
     */
    private FlatViews flatViews(String name, INDArray gradient, INDArray param) {
        FlatViews v = flat.get(name);
        if (v != null && v.gradientArray() == gradient && v.parameterArray() == param) {
            return v;
        }
        if (!isWholeFloat(gradient) || !isWholeFloat(param) || gradient.length() != param.length()) {
            flat.remove(name);
            return null;
        }
        v = new FlatViews(gradient, param, gradient.reshape(1, gradient.length()), param.reshape(1, param.length()));
        flat.put(name, v);
        return v;
    }

    private static boolean isWholeFloat(INDArray a) {
        return a.dataType() == DataType.FLOAT && a.ordering() == 'c' && !a.isView() && a.length() > 0;
    }

    private record FlatViews(INDArray gradientArray, INDArray parameterArray, INDArray gradient, INDArray parameter) {}

    /** Steps taken so far (also the schedule's position). */
    public int iteration() {
        return iteration;
    }

    /** Copies of the optimizer's state, keyed "parameter/stateName". */
    public Map<String, INDArray> state() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        updaters.forEach((name, u) -> state(u).forEach((k, v) -> out.put(name + "/" + k, v.dup())));
        return out;
    }

    /** Restores {@link #state()} and the step count; entries that do not fit are ignored (that part restarts). */
    public void setState(Map<String, INDArray> state, int iteration) {
        updaters.forEach((name, u) -> state(u).forEach((k, v) -> {
            INDArray saved = state.get(name + "/" + k);
            if (saved != null && saved.length() == v.length()) {
                v.assign(saved.reshape(v.shape()));
            }
        }));
        this.iteration = iteration;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, INDArray> state(GradientUpdater<?> u) {
        Map<String, INDArray> s = u.getState();
        return s == null ? Map.of() : s;
    }

    /** Frees the state's native memory now rather than at GC. */
    @Override
    public void close() {
        updaters.values().forEach(u -> state(u).values().stream().filter(INDArray::closeable).forEach(INDArray::close));
    }
}
