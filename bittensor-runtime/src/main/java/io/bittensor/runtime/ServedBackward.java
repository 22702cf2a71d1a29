package io.bittensor.runtime;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A peer's Backward on a served model: the gradient for the caller ({@code inputsGrad}, of its
 * inputs' shape) and the gradient on the model's own parameters, for the training thread.
 */
public record ServedBackward(INDArray inputsGrad, Map<String, INDArray> parameterGrads) {}
