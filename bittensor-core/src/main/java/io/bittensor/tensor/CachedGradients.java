package io.bittensor.tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.BaseListener;
import org.nd4j.autodiff.listeners.Listener;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.api.OutAndGrad;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Outputs and gradients of a SameDiff graph in one run of its gradient function, with SameDiff's
 * array cache on.
 *
 * <p>SameDiff 1.0.0-M2.1's {@code calculateGradients} and {@code calculateGradientsAndOutputs}
 * switch the gradient function's array cache off, so every intermediate array of every step is
 * allocated, zeroed and page-faulted anew, then left to the garbage collector (perf on the text
 * model: a fifth of the step in native allocation; on MNIST's served Backward, see
 * docs/benchmarks.md). Run through the gradient function's public {@code output}, each array goes
 * back to the cache once the last op that reads it is done, and the next call reuses it.
 *
 * <p><b>The arrays returned belong to SameDiff</b>: they stay valid only until the next call on
 * the same graph from the same thread. Copy ({@code dup()}) whatever must outlive that, e.g. a
 * gradient handed to another thread or queued.
 */
public final class CachedGradients {
    private CachedGradients() {}

    /**
     * @param sd           the graph, with its loss variables set and its gradient function created
     *                     ({@link SameDiff#createGradFunction}) for any placeholder named in
     *                     {@code gradientsOf}; created here if missing
     * @param placeholders the inputs
     * @param outputs      forward variables wanted
     * @param gradientsOf  variables whose gradients are wanted; those the loss does not reach are
     *                     left out of the result
     */
    public static OutAndGrad run(SameDiff sd, Map<String, INDArray> placeholders, List<String> outputs,
            List<String> gradientsOf) {
        return run(sd, placeholders, outputs, gradientsOf, List.of());
    }

    /**
     * As {@link #run(SameDiff, Map, List, List)}, with listeners on the gradient function's run
     * (they see each forward activation as it is computed, before any op that comes after it).
     */
    public static OutAndGrad run(SameDiff sd, Map<String, INDArray> placeholders, List<String> outputs,
            List<String> gradientsOf, List<Listener> listeners) {
        SameDiff gradFn = sd.getFunction("grad");
        if (gradFn == null) {
            sd.createGradFunction();
            gradFn = sd.getFunction("grad");
        }
        gradFn.setEnableCache(true); // in case a calculateGradients call on this graph turned it off
        List<String> names = new ArrayList<>(outputs);
        Map<String, String> gradName = new LinkedHashMap<>();
        for (String v : gradientsOf) {
            SDVariable g = sd.getVariable(v).getGradient();
            if (g != null) {
                gradName.put(v, g.name());
                names.add(g.name());
            }
        }
        Map<String, INDArray> all = gradFn.output(placeholders, listeners, names.toArray(new String[0]));
        Map<String, INDArray> outs = new LinkedHashMap<>();
        outputs.forEach(o -> outs.put(o, all.get(o)));
        Map<String, INDArray> grads = new LinkedHashMap<>();
        gradName.forEach((v, g) -> grads.put(v, all.get(g)));
        return new OutAndGrad(outs, grads);
    }

    /**
     * A listener for {@link #run(SameDiff, Map, List, List, List)} that hands {@code variable}'s
     * activation to {@code action} as soon as SameDiff has computed it, before any op that comes
     * after it runs: e.g. to compute a placeholder's value outside the graph mid-run.
     */
    public static Listener onActivation(String variable, Consumer<INDArray> action) {
        return new BaseListener() {
            @Override
            public boolean isActive(Operation operation) {
                return true;
            }

            @Override
            public void activationAvailable(SameDiff sd, At at, MultiDataSet batch, SameDiffOp op, String varName,
                    INDArray activation) {
                if (varName.equals(variable)) {
                    action.accept(activation);
                }
            }
        };
    }
}
