package io.bittensor.examples.mnist;

import io.bittensor.neuron.GradientQueue;
import io.bittensor.neuron.Neuron;
import io.bittensor.neuron.ServedInputs;
import io.bittensor.neuron.UnsupportedModalityException;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ServedInput;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The MNIST model's face on the network: an IMAGE {@link Neuron} over a snapshot of the training
 * model (as the original serves {@code model.deepcopy()}), so the Axon's threads never see
 * parameters that the training thread is changing.
 *
 * <p>Backward answers the caller with d inputs at once and queues the parameter gradient (bounded,
 * oldest dropped); the training thread applies the queue between its steps with
 * {@link #applyQueuedTo}. {@link #serve} swaps in a fresh snapshot when the model improves.
 */
public final class MnistNeuron implements Neuron {
    private final GradientQueue<Map<String, INDArray>> queue;
    private volatile MnistModel served;

    /**
     * @param snapshot      the model to serve; owned by this neuron from now on (take a {@link MnistModel#copy()})
     * @param queueCapacity most parameter gradients waiting for the optimizer
     */
    public MnistNeuron(MnistModel snapshot, int queueCapacity) {
        this.served = Objects.requireNonNull(snapshot, "snapshot");
        this.queue = new GradientQueue<>(queueCapacity);
    }

    /**
     * Serves a new snapshot from now on. The previous one is left to the garbage collector, not
     * closed: an Axon thread may still be inside a call on it.
     */
    public void serve(MnistModel snapshot) {
        this.served = Objects.requireNonNull(snapshot, "snapshot");
    }

    /** MNIST digits, one channel of 28 × 28: what routers may send us. */
    @Override
    public List<ServedInput> serves() {
        return List.of(ServedInputs.image(1, MnistSplit.ROWS, MnistSplit.COLS));
    }

    @Override
    public INDArray forwardImage(INDArray images) {
        return served.forwardImage(images.castTo(DataType.FLOAT));
    }

    @Override
    public INDArray backward(Modality modality, INDArray inputs, INDArray gradOutputs) {
        if (modality != Modality.IMAGE) {
            throw new UnsupportedModalityException(modality);
        }
        MnistModel.ImageBackward b = served.backwardImage(inputs.castTo(DataType.FLOAT), gradOutputs);
        queue.offer(b.parameterGrads());
        return b.imagesGrad();
    }

    /**
     * Applies every queued parameter gradient to {@code model} (one optimizer step each, oldest
     * first). Call from the thread that trains {@code model}, between steps.
     *
     * @return how many were applied
     */
    public int applyQueuedTo(MnistModel model) {
        List<Map<String, INDArray>> pending = queue.drain();
        pending.forEach(model::applyGradients);
        return pending.size();
    }

    /** The queue, for its counters (offered, dropped). */
    public GradientQueue<Map<String, INDArray>> queue() {
        return queue;
    }
}
