package io.bittensor.router;

import io.bittensor.dendrite.PeerResult;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Gradients of one {@link RouterCall#backward}.
 *
 * @param gate d loss / d the gate's projection and d loss / d the context; {@link Router#apply}
 *     takes the updater step, {@code gate().context()} continues into the caller's model
 * @param combine d loss / d gates and d loss / d each peer's output (what was sent back)
 * @param inputs d loss / d the raw inputs, summed over the peers that answered Backward (float32,
 *     the inputs' shape; zeros for integer inputs such as TEXT); {@code null} if nothing was sent
 * @param peerResults per called peer that was sent Backward (in {@link RouterCall#called()} order), the Backward result;
 *     empty if nothing was sent
 */
public record RouterGradients(
    GateGradients gate, CombineGradients combine, INDArray inputs, List<PeerResult> peerResults) {}
