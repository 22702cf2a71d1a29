package io.bittensor.router;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Gradients of a loss through {@link Dispatcher#combine}.
 *
 * @param gates d loss / d gates [batch, n]: through the gate weights and the renormalization over
 *     the peers that answered; 0 where a gate was 0 (not routed) or its peer failed. Feed it to
 *     {@link SparseGate#backward}.
 * @param peerOutputs per peer, d loss / d its output for the rows it got [m, …], to send back with
 *     a Backward call; {@code null} for a peer that got no rows or did not answer
 */
public record CombineGradients(INDArray gates, List<INDArray> peerOutputs) {}
