package io.bittensor.runtime;

import io.bittensor.neuron.GradientQueue;
import io.bittensor.neuron.InvalidInputException;
import io.bittensor.neuron.Neuron;
import io.bittensor.neuron.ServedInputs;
import io.bittensor.neuron.UnsupportedModalityException;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import io.bittensor.proto.ServedInput;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A model's face on the network: a {@link Neuron} of the model's modality over a snapshot of the
 * training model (as the original serves {@code model.deepcopy()}), so the Axon's threads never
 * see parameters that the training thread is changing.
 *
 * <p>Backward answers the caller at once and queues the parameter gradient (bounded, oldest
 * dropped); the training thread applies the queue between its steps with {@link #applyQueuedTo}.
 * {@link #serve} swaps in a fresh snapshot when the model improves.
 */
public final class SnapshotNeuron implements Neuron {
    private final Modality modality;
    private final GradientQueue<Map<String, INDArray>> queue;
    private final AtomicLong forwardCalls = new AtomicLong();
    private final AtomicLong backwardCalls = new AtomicLong();
    private final AtomicLong forwardNanos = new AtomicLong();
    private final AtomicLong backwardNanos = new AtomicLong();
    private final AtomicLong nonFiniteDropped = new AtomicLong();
    private volatile NeuronModel served;

    /**
     * @param snapshot      the model to serve; owned by this neuron from now on (take a {@link NeuronModel#copy()})
     * @param queueCapacity most parameter gradients waiting for the training thread
     */
    public SnapshotNeuron(NeuronModel snapshot, int queueCapacity) {
        this.served = Objects.requireNonNull(snapshot, "snapshot");
        this.modality = snapshot.modality();
        this.queue = new GradientQueue<>(queueCapacity);
    }

    /**
     * Serves a new snapshot from now on. The previous one is left to the garbage collector, not
     * closed: an Axon thread may still be inside a call on it.
     */
    public void serve(NeuronModel snapshot) {
        if (Objects.requireNonNull(snapshot, "snapshot").modality() != modality) {
            throw new IllegalArgumentException("snapshot serves " + snapshot.modality() + ", not " + modality);
        }
        this.served = snapshot;
    }

    @Override
    public List<ServedInput> serves() {
        return served.serves();
    }

    @Override
    public INDArray forward(Modality m, INDArray inputs) {
        if (m != modality) {
            throw new UnsupportedModalityException(m);
        }
        NeuronModel model = served;
        long start = System.nanoTime();
        INDArray out = model.forward(wireInputs(checkServed(model, m, inputs)));
        forwardNanos.addAndGet(System.nanoTime() - start);
        forwardCalls.incrementAndGet();
        return out;
    }

    @Override
    public INDArray forwardText(INDArray tokens) {
        return forward(Modality.TEXT, tokens);
    }

    @Override
    public INDArray forwardImage(INDArray images) {
        return forward(Modality.IMAGE, images);
    }

    @Override
    public INDArray forwardTensor(INDArray x) {
        return forward(Modality.TENSOR, x);
    }

    @Override
    public INDArray backward(Modality m, INDArray inputs, INDArray gradOutputs) {
        if (m != modality) {
            throw new UnsupportedModalityException(m);
        }
        NeuronModel model = served;
        long start = System.nanoTime();
        ServedBackward b = model.backward(wireInputs(checkServed(model, m, inputs)), gradOutputs);
        backwardNanos.addAndGet(System.nanoTime() - start);
        queue.offer(b.parameterGrads());
        backwardCalls.incrementAndGet();
        return b.inputsGrad();
    }

    /**
     * A peer's input that fits none of the model's declared inputs is refused ({@code BAD_SHAPE}:
     * the Axon answers the code, logs no stack trace, and does not ban the caller) before the model
     * sees it. A model that declares nothing checks its inputs itself.
     */
    private static INDArray checkServed(NeuronModel model, Modality m, INDArray inputs) {
        List<ServedInput> serves = model.serves();
        if (serves.isEmpty()) {
            return inputs;
        }
        for (ServedInput in : serves) {
            if (ServedInputs.fits(in, m, inputs.shape())) {
                return inputs;
            }
        }
        throw new InvalidInputException(ReturnCode.BAD_SHAPE, "inputs of shape " + Arrays.toString(inputs.shape())
                + " do not fit what this synapse serves: " + describe(serves));
    }

    private static String describe(List<ServedInput> serves) {
        StringBuilder sb = new StringBuilder();
        for (ServedInput in : serves) {
            if (sb.length() > 0) {
                sb.append(" or ");
            }
            sb.append(in.getModality()).append(in.getModality() == Modality.TEXT ? " [batch, seq]"
                    : " [batch, seq, " + in.getShapeList().stream().map(String::valueOf)
                            .collect(java.util.stream.Collectors.joining(", ")) + "]");
        }
        return sb.toString();
    }

    /** Token ids stay integers; images and features reach the model as float32 whatever their wire type. */
    private INDArray wireInputs(INDArray inputs) {
        return modality == Modality.TEXT || inputs.dataType() == DataType.FLOAT ? inputs : inputs.castTo(DataType.FLOAT);
    }

    /**
     * Applies every queued parameter gradient to {@code model}, averaged, in one optimizer step.
     * An average holding NaN or infinity (one peer's poisoned gradient is enough) is dropped
     * instead, and counted ({@link #nonFiniteDropped}): one such step would turn the model NaN.
     * Call from the thread that trains {@code model}, between steps.
     *
     * @return how many gradients were applied (0 when the average was dropped)
     */
    public int applyQueuedTo(NeuronModel model) {
        List<Map<String, INDArray>> queued = queue.drain();
        if (queued.isEmpty()) {
            return 0;
        }
        Map<String, INDArray> sum = new LinkedHashMap<>();
        for (Map<String, INDArray> g : queued) {
            g.forEach((k, v) -> sum.merge(k, v.dup(), INDArray::addi));
        }
        if (queued.size() > 1) {
            sum.values().forEach(v -> v.divi(queued.size()));
        }
        // A sum is non-finite when any entry is: one reduction per array.
        if (!sum.values().stream().allMatch(v -> Double.isFinite(v.sumNumber().doubleValue()))) {
            nonFiniteDropped.incrementAndGet();
            return 0;
        }
        model.applyGradients(sum);
        return queued.size();
    }

    /** Averages of peers' gradients dropped because they held NaN or infinity. */
    public long nonFiniteDropped() {
        return nonFiniteDropped.get();
    }

    /** Forward calls answered so far. */
    public long forwardCalls() {
        return forwardCalls.get();
    }

    /** Backward calls answered so far. */
    public long backwardCalls() {
        return backwardCalls.get();
    }

    /** Mean milliseconds the model took per answered Forward (NaN before the first). */
    public double meanForwardMillis() {
        long n = forwardCalls.get();
        return n == 0 ? Double.NaN : forwardNanos.get() / 1e6 / n;
    }

    /** Mean milliseconds the model took per answered Backward (NaN before the first). */
    public double meanBackwardMillis() {
        long n = backwardCalls.get();
        return n == 0 ? Double.NaN : backwardNanos.get() / 1e6 / n;
    }

    /** The queue, for its counters (offered, dropped). */
    public GradientQueue<Map<String, INDArray>> queue() {
        return queue;
    }
}
