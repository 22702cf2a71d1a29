package io.bittensor.examples.bert;

import io.bittensor.neuron.GradientQueue;
import io.bittensor.neuron.InvalidInputException;
import io.bittensor.neuron.Neuron;
import io.bittensor.neuron.ServedInputs;
import io.bittensor.neuron.UnsupportedModalityException;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import io.bittensor.proto.ServedInput;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The text model's face on the network: a TEXT {@link Neuron} over a snapshot of the training
 * model, so Axon threads never see parameters the training thread is changing.
 *
 * <p>A peer's ids are checked before the model runs: a sequence longer than the model's positions
 * is refused with {@code BAD_SHAPE}, an id outside {@code [0, vocabulary)} with
 * {@code MALFORMED_TENSOR}; the neuron carries on. Backward answers zeros of the ids' shape (ids
 * have no gradient) and queues the parameter gradient (bounded, oldest dropped) for the training
 * thread.
 */
public final class BertNeuron implements Neuron {
    private final GradientQueue<Map<String, INDArray>> queue;
    private volatile BertModel served;

    /**
     * @param snapshot      the model to serve; owned by this neuron from now on (take a {@link BertModel#copy()})
     * @param queueCapacity most parameter gradients waiting for the optimizer
     */
    public BertNeuron(BertModel snapshot, int queueCapacity) {
        this.served = Objects.requireNonNull(snapshot, "snapshot");
        this.queue = new GradientQueue<>(queueCapacity);
    }

    /** Serves a new snapshot; the old one is left to the GC (an Axon thread may still be inside it). */
    public void serve(BertModel snapshot) {
        this.served = Objects.requireNonNull(snapshot, "snapshot");
    }

    /** TEXT ids below the served model's vocabulary: what routers may send us. */
    @Override
    public List<ServedInput> serves() {
        return List.of(ServedInputs.text(served.config().vocabSize()));
    }

    @Override
    public INDArray forwardText(INDArray tokens) {
        BertModel m = served;
        check(tokens, m.config());
        return m.forwardText(tokens);
    }

    @Override
    public INDArray backward(Modality modality, INDArray inputs, INDArray gradOutputs) {
        if (modality != Modality.TEXT) {
            throw new UnsupportedModalityException(modality);
        }
        BertModel m = served;
        check(inputs, m.config());
        queue.offer(m.backwardText(inputs, gradOutputs).parameterGrads());
        return Nd4j.zeros(DataType.FLOAT, inputs.shape());
    }

    /** Peers' queued parameter gradients, oldest first (the training thread applies them). */
    public List<Map<String, INDArray>> drainGradients() {
        return queue.drain();
    }

    /** The queue, for its counters. */
    public GradientQueue<Map<String, INDArray>> queue() {
        return queue;
    }

    /** Refuses what the model cannot take, before it runs. */
    static void check(INDArray ids, BertConfig config) {
        if (ids.rank() != 2) {
            throw new InvalidInputException(ReturnCode.BAD_SHAPE, "TEXT ids must be [batch, seq], got rank " + ids.rank());
        }
        if (ids.size(1) > config.maxPositions()) {
            throw new InvalidInputException(ReturnCode.BAD_SHAPE, "sequence length " + ids.size(1)
                    + " exceeds this model's " + config.maxPositions() + " positions");
        }
        if (!ids.dataType().isIntType()) {
            throw new InvalidInputException(ReturnCode.BAD_DTYPE, "TEXT ids must be integers, got " + ids.dataType());
        }
        long min = ids.minNumber().longValue();
        long max = ids.maxNumber().longValue();
        if (min < 0 || max >= config.vocabSize()) {
            throw new InvalidInputException(ReturnCode.MALFORMED_TENSOR, "token id " + (min < 0 ? min : max)
                    + " is outside this model's vocabulary [0, " + config.vocabSize() + ")");
        }
    }
}
