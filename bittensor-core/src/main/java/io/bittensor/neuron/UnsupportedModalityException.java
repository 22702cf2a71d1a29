package io.bittensor.neuron;

import io.bittensor.proto.Modality;
import java.util.Objects;

/**
 * Thrown by a {@link Neuron} asked to run a modality it does not serve. The Axon answers such a
 * call with {@code UNSUPPORTED_MODALITY} and a null response; it is not a model error.
 */
public final class UnsupportedModalityException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Modality modality;

    public UnsupportedModalityException(Modality modality) {
        super("modality " + modality + " is not supported by this neuron");
        this.modality = Objects.requireNonNull(modality, "modality");
    }

    public Modality modality() {
        return modality;
    }
}
