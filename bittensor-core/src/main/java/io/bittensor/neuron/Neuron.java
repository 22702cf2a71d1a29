package io.bittensor.neuron;

import io.bittensor.proto.Modality;
import io.bittensor.proto.ServedInput;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What a user implements to serve a model on the network.
 *
 * <p>Every forward takes a batch of {@code [batch, seq, ...]} inputs and returns
 * {@code [batch, seq, NETWORK_DIM]}:
 * <ul>
 *   <li>TEXT: token ids {@code [batch, seq]}, int64;</li>
 *   <li>IMAGE: {@code [batch, seq, channels, rows, cols]}, float32;</li>
 *   <li>TENSOR: {@code [batch, seq, features]}, any of float32/float64/int32/int64.</li>
 * </ul>
 * A modality the neuron does not serve keeps the default, which throws
 * {@link UnsupportedModalityException}; the Axon turns that into an {@code UNSUPPORTED_MODALITY}
 * answer rather than a model error.
 *
 * <p><b>Threads.</b> An Axon calls these methods from several worker threads at once. An
 * implementation must be safe for that: either stateless, or guarding its model (see
 * {@link SameDiffNeuron}, which serializes its graph and applies parameter updates under the same
 * lock, so a call sees the parameters of one whole optimizer step, never half of one).
 *
 * <p>Calls must not retain or modify the arrays they are given beyond the call, except to hand
 * copies to their own queue.
 */
public interface Neuron {

    /** Width of every output, fixed network-wide. */
    int NETWORK_DIM = 512;

    /**
     * What this neuron takes, published with its synapse (see {@link ServedInputs}) so that
     * routers call it only with inputs it can take. Default: not said, which callers read as the
     * original MNIST neuron's IMAGE {@code [1, 28, 28]}.
     */
    default List<ServedInput> serves() {
        return List.of();
    }

    /** Token ids {@code [batch, seq]} (int64) to {@code [batch, seq, 512]}. */
    default INDArray forwardText(INDArray tokens) {
        throw new UnsupportedModalityException(Modality.TEXT);
    }

    /** Images {@code [batch, seq, channels, rows, cols]} to {@code [batch, seq, 512]}. */
    default INDArray forwardImage(INDArray images) {
        throw new UnsupportedModalityException(Modality.IMAGE);
    }

    /** Features {@code [batch, seq, features]} to {@code [batch, seq, 512]}. */
    default INDArray forwardTensor(INDArray x) {
        throw new UnsupportedModalityException(Modality.TENSOR);
    }

    /** Dispatches to the forward of {@code modality}. */
    default INDArray forward(Modality modality, INDArray inputs) {
        return switch (modality) {
            case TEXT -> forwardText(inputs);
            case IMAGE -> forwardImage(inputs);
            case TENSOR -> forwardTensor(inputs);
            default -> throw new UnsupportedModalityException(modality);
        };
    }

    /**
     * Stateless backward: re-runs the forward of {@code inputs} with gradients recorded and returns
     * the gradient of {@code sum(gradOutputs ⊙ outputs)} with respect to the inputs, of the inputs'
     * shape (zeros for integer inputs such as TEXT tokens). The gradient on the neuron's own
     * parameters goes to the neuron, which applies it at its own pace (never inside this call).
     *
     * @param gradOutputs the caller's gradient w.r.t. this neuron's outputs, {@code [batch, seq, 512]}
     */
    default INDArray backward(Modality modality, INDArray inputs, INDArray gradOutputs) {
        throw new UnsupportedModalityException(modality);
    }
}
