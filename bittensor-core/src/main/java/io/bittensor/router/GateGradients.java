package io.bittensor.router;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Gradients of a loss through a {@link SparseGate}.
 *
 * @param weight d loss / d projection weight [keyDim, xDim]
 * @param bias d loss / d projection bias [keyDim]
 * @param context d loss / d context [batch, xDim], to continue backpropagation into the model that
 *     produced the context
 */
public record GateGradients(INDArray weight, INDArray bias, INDArray context) {}
